package providers

import "context"

// Listing is one model as its server lists it.
type Listing struct {
	// ID is the model's id in requests to the server, such as
	// llama3.2:latest or moonshot-v1-8k.
	ID string
	// ContextWindow is the window in tokens the server says it serves the
	// model with; 0 when it does not say.
	ContextWindow int
	// Capabilities are what the server says the model can do, in its own
	// words: Ollama's completion, vision, tools, embedding, thinking,
	// insert. Empty when the server does not say.
	Capabilities []string
	// Family is the model's family when the server tells it (Ollama's
	// details.family, such as llama, qwen2 or nomic-bert).
	Family string
}

// Lister reads a provider's model list. Adapters implement it, one per
// kind of server.
type Lister interface {
	// List returns the models the server lists now. A model whose details
	// could not be read is listed with what is known (its id at least).
	List(ctx context.Context) ([]Listing, error)
}

// The capabilities an Ollama server reports in /api/show.
const (
	ServerCompletion = "completion"
	ServerVision     = "vision"
	ServerTools      = "tools"
	ServerEmbedding  = "embedding"
	ServerThinking   = "thinking"
	ServerInsert     = "insert"
)
