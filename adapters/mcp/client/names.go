package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// ModelPrefix begins the model name every MCP server is served as: a
// server named github is the model mcp/github, whose capabilities are its
// tools. One model per server keeps NATS's permissions to one rule (an
// executor user allowed mcp/github may serve every tool github lists,
// now and after its list changes) and puts the server's concurrency
// limit where a model's is.
const ModelPrefix = "mcp/"

// ModelName is the model a server is served as.
func ModelName(server string) string { return ModelPrefix + server }

// MaxServerName bounds a server's name, which starts every capability
// name of its tools.
const MaxServerName = 32

// CheckServerName reports whether name can name a server: 1 to
// MaxServerName lowercase letters, digits, '-' or '_', starting with a
// letter or digit.
func CheckServerName(name string) error {
	if name == "" || len(name) > MaxServerName {
		return fmt.Errorf("a tool server's name is 1 to %d characters; %q is %d", MaxServerName, name, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_'))
		if !ok {
			return fmt.Errorf("tool server name %q: use lowercase letters, digits, '-' and '_' (starting with a letter or digit); it names the server's capabilities", name)
		}
	}
	return nil
}

// maxCapabilityName is the catalog's limit on a capability's name.
const maxCapabilityName = 64

// CapabilityName is the capability of a server's tool: <server>-<tool>,
// lowercased (LLM planners write capability names in lowercase), every
// run of characters outside the catalog's alphabet (letters, digits,
// '_', '-') folded to one '-'. A name longer than the catalog's 64 bytes
// is cut and ends in 8 hex digits of a hash of the whole, so two long
// tool names stay two capabilities.
func CapabilityName(server, tool string) string {
	var b strings.Builder
	b.WriteString(server)
	b.WriteByte('-')
	fold := false
	for _, r := range strings.ToLower(tool) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
			fold = false
			continue
		}
		if !fold {
			b.WriteByte('-')
			fold = true
		}
	}
	name := strings.TrimRight(b.String(), "-")
	if name == server {
		name += "-tool"
	}
	if len(name) <= maxCapabilityName {
		return name
	}
	sum := sha256.Sum256([]byte(server + "\x00" + tool))
	return name[:maxCapabilityName-9] + "-" + hex.EncodeToString(sum[:4])
}
