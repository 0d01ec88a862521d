package openaitest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
)

// DefaultDimensions is the length of the vectors the server answers when
// a request does not ask for dimensions.
const DefaultDimensions = 8

// embeddingsRequest is the part of an embeddings request the server reads.
type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     int             `json:"dimensions"`
}

// embeddings answers POST /v1/embeddings: one vector per input, a
// function of the input's text (so equal texts get equal vectors), as
// floats or, with encoding_format base64, as OpenAI's base64 of
// little-endian float32s.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var er embeddingsRequest
	body, m, ok := s.admit(w, r, &er, func() string { return er.Model })
	if !ok {
		return
	}
	n := m.calls.Add(1)
	inputs, ok := embeddingInputs(er.Input)
	if !ok {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'input' must be a string, an array of strings, or an array of token arrays.", typ: "invalid_request_error", param: "input"})
		return
	}
	m.remember(Record{Path: PathEmbeddings, Model: er.Model, Authorization: r.Header.Get("Authorization"), Header: r.Header, Body: body, Input: inputs})
	if !s.admitScripted(w, r, m.script, n) {
		return
	}
	dims := er.Dimensions
	if dims <= 0 {
		dims = DefaultDimensions
	}
	b := append([]byte(nil), `{"object":"list","data":[`...)
	tokens := 0
	for i, in := range inputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		v := vector(in, dims)
		if sc := m.script; sc != nil && sc.b.Embed != nil {
			v = sc.b.Embed(in)
		}
		b = appendVector(b, v, er.EncodingFormat == "base64")
		b = append(b, '}')
		tokens += len(SplitTokens(in))
	}
	b = append(b, `],"model":`...)
	b = appendString(b, er.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	writeJSON(w, http.StatusOK, append(b, "}}\n"...))
}

// embeddingInputs reads input: a string, an array of strings, an array of
// tokens or an array of token arrays (each kept as its JSON).
func embeddingInputs(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, false
	}
	var tokens []int
	if json.Unmarshal(raw, &tokens) == nil {
		return []string{string(raw)}, true
	}
	out := make([]string, len(many))
	for i, e := range many {
		if json.Unmarshal(e, &out[i]) != nil {
			if json.Unmarshal(e, &tokens) != nil {
				return nil, false
			}
			out[i] = string(e)
		}
	}
	return out, true
}

// vector is a unit vector derived from text.
func vector(text string, dims int) []float32 {
	v := make([]float32, dims)
	norm := 0.0
	for i := range v {
		h := fnv.New64a()
		_, _ = h.Write([]byte(strconv.Itoa(i) + ":" + text))
		x := float64(h.Sum64()%2001)/1000 - 1
		v[i] = float32(x)
		norm += x * x
	}
	if norm = math.Sqrt(norm); norm > 0 {
		for i := range v {
			v[i] = float32(float64(v[i]) / norm)
		}
	}
	return v
}

func appendVector(b []byte, v []float32, b64 bool) []byte {
	if b64 {
		raw := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		return appendString(b, base64.StdEncoding.EncodeToString(raw))
	}
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return append(b, ']')
}
