// Package memory keeps conversations that outlive a request: their turns,
// a rolling summary written by a summarize model, and an index of earlier
// turns for recall (BM25 over the built-in tokenizers, English and
// Chinese), in a Bucket: Redis when configured, so that every router sees
// them, else a NATS key-value bucket. It also counts tokens as each
// model family's tokenizer does, and holds the cache of deterministic
// answers.
package memory

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Turn is one message of a conversation.
type Turn struct {
	// Seq numbers the conversation's turns from 1.
	Seq       int64     `json:"seq"`
	Role      string    `json:"role"`
	Content   string    `json:"content"`
	Time      time.Time `json:"created_at"`
	RequestID string    `json:"request_id,omitempty"`
}

// Summary is a conversation's rolling summary: its turns up to Through
// folded into one text, updated incrementally (the previous summary and
// the turns after it make the next one).
type Summary struct {
	Text    string `json:"text"`
	Through int64  `json:"through"`
	// Model is the model that wrote the last update.
	Model     string    `json:"model,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// meta is a conversation's record: what it is and where its turns are.
type meta struct {
	ID    string `json:"id"`
	Scope string `json:"memory_scope,omitempty"`
	// Next is the seq the next turn gets; First the oldest one kept.
	Next      int64     `json:"next"`
	First     int64     `json:"first"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Summary   *Summary  `json:"summary,omitempty"`
}

// View is a conversation as GET /v1/conversations/{id} shows it.
type View struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"`
	MemoryScope string    `json:"memory_scope,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Turns       []Turn    `json:"turns"`
	Summary     *Summary  `json:"summary,omitempty"`
}

// Key names a conversation, as one owner (an API key's hash, a webhook,
// or nobody) sees it, and the memory scope a request gives it.
type Key struct {
	Owner        string
	Conversation string
	Scope        string
}

// Records per key, and bounds of what is kept.
const (
	// chunkTurns is how many turns one record holds.
	chunkTurns = 16
	// segmentDocs is how many indexed turns one index record holds.
	segmentDocs = 16
	// MaxTurnBytes bounds a turn as kept; a longer one is kept cut, and
	// says so in its text.
	MaxTurnBytes = 16 << 10
	// maxDocBytes bounds the text of a turn in the index, which is what a
	// recalled turn shows.
	maxDocBytes = 1 << 10
)

// hashKey is a key-safe digest of parts: ids are the caller's, with any
// characters, and owners must not be able to reach each other's records.
func hashKey(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func convKey(owner, id string) string { return hashKey("c", owner, id) }

// scopeOf is a conversation's memory scope: the one it was created with,
// or the conversation alone.
func scopeKey(owner, conversation, scope string) string {
	if scope == "" {
		return hashKey("s", owner, "conversation", conversation)
	}
	return hashKey("s", owner, "scope", scope)
}

func metaRecord(ck string) string { return "c." + ck }

func chunkRecord(ck string, seq int64) string {
	return "t." + ck + "." + strconv.FormatInt((seq-1)/chunkTurns, 10)
}

func scopeRecord(sk string) string { return "s." + sk }

func segmentRecord(sk string, n int) string { return "d." + sk + "." + strconv.Itoa(n) }

// cut keeps text within limit bytes, on a rune boundary, saying how much
// was left out.
func cut(text string, limit int) string {
	if len(text) <= limit {
		return text
	}
	i := limit
	for i > 0 && text[i]&0xC0 == 0x80 {
		i--
	}
	return text[:i] + " […" + strconv.Itoa(len(text)-i) + " more bytes not kept]"
}
