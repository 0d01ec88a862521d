package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// ModelName is the registered name of a provider's model:
// <provider>/<model id>, with every character a model name may not hold
// folded to '-' (a server may list ids with spaces or other scripts), and
// cut to task.MaxModelNameBytes with a hash of the whole id so that two
// long ids still get two names. An id that needed neither is kept as is,
// so llama3.2:latest of provider ollama is ollama/llama3.2:latest.
func ModelName(provider, id string) string {
	var b strings.Builder
	b.Grow(len(provider) + 1 + len(id))
	b.WriteString(provider)
	b.WriteByte('/')
	for _, r := range id {
		if modelNameRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) <= task.MaxModelNameBytes {
		return name
	}
	return name[:task.MaxModelNameBytes-len(hashSuffix(id))] + hashSuffix(id)
}

// hashSuffix tells apart ids that fold to the same name.
func hashSuffix(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "-" + hex.EncodeToString(sum[:4])
}

// distinctName is name, or, when another id of the provider already has
// it, the name with the id's hash.
func distinctName(provider, id string, taken map[string]bool) string {
	name := ModelName(provider, id)
	if !taken[name] {
		return name
	}
	suffix := hashSuffix(id)
	if len(name)+len(suffix) > task.MaxModelNameBytes {
		name = name[:task.MaxModelNameBytes-len(suffix)]
	}
	return name + suffix
}

// modelNameRune is task.CheckModelName's alphabet.
func modelNameRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("-_./:@+", r)
}
