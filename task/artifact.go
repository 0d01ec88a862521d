package task

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ArtifactPrefix starts every artifact id: "art_" and the first 32 hex
// digits of the SHA-256 of the artifact's bytes, so equal bytes have one id.
const ArtifactPrefix = "art_"

// artifactIDHex is how many hex digits of the SHA-256 an artifact id holds.
const artifactIDHex = 32

// ArtifactRef names an artifact and says what it is, never carrying its
// bytes: the bytes live in the artifact store (a JetStream object store
// on the same NATS), where whoever needs them fetches them by ID.
type ArtifactRef struct {
	ID string `json:"id"`
	// MIME is the media type, such as "image/png" or "audio/wav".
	MIME string `json:"mime"`
	// Size is the number of bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the bytes; ID starts with its prefix.
	SHA256 string `json:"sha256,omitempty"`
	// Name is an optional file name, such as "photo.png".
	Name string `json:"name,omitempty"`
	// Ref is the name a plan knows the artifact by: "a1" for the request's
	// first attachment, "t2" for an artifact subtask t2 produced.
	Ref string `json:"ref,omitempty"`
	// Stored and Expires are when the store took the artifact and when it
	// lets it go, as the store in this process reports them; they never
	// travel.
	Stored  time.Time `json:"-"`
	Expires time.Time `json:"-"`
}

// Kind is the catalog type of the artifact: image, audio, video or file.
func (a ArtifactRef) Kind() string { return KindOfMIME(a.MIME) }

// Placeholder is what a {{ref}} reference to the artifact becomes in a
// subtask's text: "[image a1]". A model that takes artifacts finds the
// artifact with that Ref in Work.Artifacts; the bytes never enter text.
func (a ArtifactRef) Placeholder() string { return "[" + a.Kind() + " " + a.Ref + "]" }

// String describes the artifact for people and for models that read
// text: "photo.png (image/png, 12,345 bytes, art_...)".
func (a ArtifactRef) String() string {
	name := a.Name
	if name == "" {
		name = a.ID
	} else {
		name += ", " + a.ID
	}
	return fmt.Sprintf("%s (%s, %s bytes)", name, a.MIME, groupThousands(a.Size))
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// KindOfMIME maps a media type to the catalog's type of binary data:
// image/* is image, audio/* audio, video/* video, and anything else,
// text/plain and JSON files included, is file: an attached document is
// data to read with a capability that takes files, never text by accident.
func KindOfMIME(mime string) string {
	top, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mime)), "/")
	switch top {
	case TypeImage, TypeAudio, TypeVideo:
		return top
	}
	return TypeFile
}

// The catalog's types of inputs and outputs.
const (
	TypeText   = "text"
	TypePrompt = "prompt"
	TypeJSON   = "json"
	TypeNumber = "number"
	TypeURL    = "url"
	TypeVector = "vector"
	TypeImage  = "image"
	TypeAudio  = "audio"
	TypeVideo  = "video"
	TypeFile   = "file"
)

// IsBinaryType reports whether a catalog type is binary data, which
// travels as artifacts: image, audio, video or file.
func IsBinaryType(typ string) bool {
	switch typ {
	case TypeImage, TypeAudio, TypeVideo, TypeFile:
		return true
	}
	return false
}

// ValidArtifactID reports whether id has the form of an artifact id.
func ValidArtifactID(id string) bool {
	hex, ok := strings.CutPrefix(id, ArtifactPrefix)
	if !ok || len(hex) != artifactIDHex {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ArtifactID is the id of the artifact whose bytes have the given hex SHA-256.
func ArtifactID(sha256Hex string) string {
	if len(sha256Hex) > artifactIDHex {
		sha256Hex = sha256Hex[:artifactIDHex]
	}
	return ArtifactPrefix + strings.ToLower(sha256Hex)
}

// AttachmentRef is the reference name of the request's i-th attachment
// (0-based) in a plan: "a1", "a2", ...
func AttachmentRef(i int) string { return "a" + strconv.Itoa(i+1) }

// attachmentIndex returns the 0-based index an attachment reference
// ("a1") names, or -1 when ref is not of that form.
func attachmentIndex(ref string) int {
	digits, ok := strings.CutPrefix(ref, "a")
	if !ok || digits == "" || digits[0] == '0' || len(digits) > 4 {
		return -1
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return -1
	}
	return n - 1
}

// Attachment is one piece of binary data a request brings: inline, as
// Data (base64 in JSON) with its MIME type and an optional name, or as
// Artifact, the id of an artifact stored before (an uploaded file, or an
// artifact an earlier request produced). Once the router has stored or
// found it, Artifact, MIME and Size are set and Data is dropped.
type Attachment struct {
	Name     string `json:"name,omitempty"`
	MIME     string `json:"mime,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Artifact string `json:"artifact,omitempty"`
	// Size is the artifact's size, once resolved.
	Size int64 `json:"size,omitempty"`
}

// Ref returns the attachment as the artifact reference a plan sees, the
// i-th (0-based) of its request.
func (a Attachment) Ref(i int) ArtifactRef {
	return ArtifactRef{ID: a.Artifact, MIME: a.MIME, Size: a.Size, Name: a.Name, Ref: AttachmentRef(i)}
}

// Resolved reports whether the attachment names a stored artifact and
// carries no data of its own.
func (a Attachment) Resolved() bool { return a.Artifact != "" && len(a.Data) == 0 }

// checkAttachments reports a malformed attachment: each is either data
// with a MIME type, or an artifact id, never both.
func (r Request) checkAttachments() error {
	const maxAttachments = 64
	if len(r.Attachments) > maxAttachments {
		return Errorf(CodeInvalidRequest, "the request has %d attachments, more than the limit of %d", len(r.Attachments), maxAttachments)
	}
	for i, a := range r.Attachments {
		at := fmt.Sprintf("attachments[%d]", i)
		switch {
		case a.Artifact != "" && len(a.Data) > 0:
			return Errorf(CodeInvalidRequest, "%s has both data and artifact; send one: {\"name\", \"mime\", \"data\": base64} or {\"artifact\": id}", at)
		case a.Artifact != "" && !ValidArtifactID(a.Artifact):
			return Errorf(CodeInvalidRequest, "%s: artifact %q is not an artifact id such as art_ followed by 32 hex digits", at, a.Artifact)
		case a.Artifact == "" && len(a.Data) == 0:
			return Errorf(CodeInvalidRequest, "%s has no data: send {\"name\", \"mime\", \"data\": base64} or {\"artifact\": id}", at)
		case len(a.Name) > 255 || strings.ContainsAny(a.Name, "/\\\x00"):
			return Errorf(CodeInvalidRequest, "%s: name %q must be a file name of at most 255 bytes, without / or \\", at, a.Name)
		}
	}
	return nil
}

// Artifacts is what an executor gives a model that reads or makes binary
// data: Open streams an artifact its Work lists (in Work.Artifacts), Put
// stores one it makes and returns its reference, for Output.Artifacts.
// Neither holds the whole artifact in memory.
type Artifacts interface {
	Open(ctx context.Context, id string) (io.ReadCloser, ArtifactRef, error)
	Put(ctx context.Context, meta ArtifactRef, r io.Reader) (ArtifactRef, error)
}

// badAttachmentData names the attachment whose data is not base64, which
// is what err, the decoder's error, says of a request.
func badAttachmentData(request []byte, err error) error {
	var r struct {
		Attachments []struct {
			Name string          `json:"name"`
			Data json.RawMessage `json:"data"`
		} `json:"attachments"`
	}
	if json.Unmarshal(request, &r) == nil {
		for i, a := range r.Attachments {
			var data []byte
			if json.Unmarshal(a.Data, &data) != nil {
				name := ""
				if a.Name != "" {
					name = fmt.Sprintf(" (%s)", a.Name)
				}
				return Errorf(CodeInvalidRequest, "attachments[%d]%s: data is not base64 (%v); send the bytes as standard base64", i, name, err)
			}
		}
	}
	return Errorf(CodeInvalidRequest, "decoding request: %v; send binary data as standard base64", err)
}
