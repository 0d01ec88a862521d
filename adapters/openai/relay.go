package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/internal/openaibody"
	"github.com/taskrouter/taskrouter/task"
)

// maxRelayBody bounds an upstream's unstreamed answer, and one line of
// its stream.
const maxRelayBody = 32 << 20

// errTooLarge is an upstream answer over maxRelayBody.
var errTooLarge = fmt.Errorf("the upstream's answer is larger than %d bytes", maxRelayBody)

// apiPaths are the endpoints, under base_url, of the APIs a Body is for.
var apiPaths = map[string]string{
	"":                  "/chat/completions",
	task.APIChat:        "/chat/completions",
	task.APICompletions: "/completions",
	task.APIEmbeddings:  "/embeddings",
}

// Relay sends w.Body, the caller's own OpenAI request, upstream as it
// came with only "model" set to the model's upstream id: no system
// message, no default max_tokens, nothing rewritten, unknown fields kept.
// When the body asks to stream, chunk (if not nil) gets every chunk of
// the answer as the upstream sent it, with its text (both valid during
// the call only), while the Output is
// built from them; otherwise the Output's Body is the upstream's answer
// as received. Text, tool calls, finish reason and usage (for the cost)
// are read from the answer either way; a finish_reason of content_filter
// is the upstream's answer, not an error, as it would be to a direct
// call. Errors are *task.Error values, classified as Generate's are.
//
// A relayed stream is read below this frame for as long as it lasts, so
// checking the request and writing the output have functions of their
// own (relayPath, relayOutput), whose locals are off the stack by then.
func (m *Model) Relay(ctx context.Context, w *task.Work, chunk func(raw []byte, delta string)) (task.Output, error) {
	path, err := m.relayPath(w.API, w.Body)
	if err != nil {
		return task.Output{}, err
	}
	ctx, cancel := m.bound(ctx, w.Deadline)
	defer cancel()
	body := openaibody.SetModel(w.Body, m.upstream)
	var (
		a   answer
		raw []byte
	)
	ctx, span := m.startRelaySpan(ctx, w.API, body)
	if streams(body) {
		a, err = m.relayStream(ctx, path, body, chunk)
	} else {
		a, raw, err = m.relayOnce(ctx, path, body, w.API)
	}
	if err == nil && a.usage.PromptTokens == 0 && a.usage.CompletionTokens == 0 {
		a.usage = estimateRelayUsage(body, &a)
	}
	endCallSpan(span, m.upstream, a, err)
	if err != nil {
		return task.Output{}, err
	}
	return m.relayOutput(body, &a, raw), nil
}

// relayPath is the upstream's path for api, when body is a JSON object
// to send there.
func (m *Model) relayPath(api string, body []byte) (string, error) {
	path, ok := apiPaths[api]
	if !ok {
		return "", task.Errorf(task.CodeInvalidRequest, "model %q: api %q: use chat, completions or embeddings", m.spec.Name, api)
	}
	if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return "", task.Errorf(task.CodeInvalidRequest, "model %q: the request body is not a JSON object", m.spec.Name)
	}
	return path, nil
}

// streams reports whether a request body asks for a stream.
//
//go:noinline
func streams(body []byte) bool { return gjson.GetBytes(body, "stream").Type == gjson.True }

// relayOutput is the output of answer a to body, raw when it came
// unstreamed: its usage and cost, and its format.
func (m *Model) relayOutput(body []byte, a *answer, raw []byte) task.Output {
	u := a.usage
	u.CostUSD = m.spec.Cost(u.PromptTokens, u.CompletionTokens)
	format := gjson.GetBytes(body, "response_format.type").Str
	return task.Output{Text: a.text, Format: outputFormat(format == "json_object" || format == "json_schema", a.text), Usage: u,
		ToolCalls: callsJSON(a.calls), FinishReason: finishReason(a.finish), Body: raw}
}

// post sends body to path through the model's client, with its key and
// headers. The response is the caller's to close.
func (m *Model) post(ctx context.Context, path string, body []byte, stream bool) (*http.Response, error) {
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return m.send(ctx, path, "application/json", accept, bytes.NewReader(body))
}

// send posts body of contentType to path through the model's client,
// with its key, asking for accept. An answer that is not a success is
// read as an error. The response is the caller's to close.
func (m *Model) send(ctx context.Context, path, contentType, accept string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.baseURL+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if accept == "text/event-stream" {
		req.Header.Set("Cache-Control", "no-cache")
	}
	if m.secret.key != "" {
		req.Header.Set("Authorization", "Bearer "+m.secret.key)
	}
	resp, err := m.doer.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= http.StatusBadRequest || resp.StatusCode < http.StatusOK {
		defer resp.Body.Close()
		return nil, errorAnswer(resp)
	}
	return resp, nil
}

// errorAnswer reads an error answer as go-openai does, so that classify
// sees the same *goopenai.APIError, or *goopenai.RequestError when the
// body is not an OpenAI error object.
func errorAnswer(resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the error answer: %w", err)
	}
	var er goopenai.ErrorResponse
	if err := json.Unmarshal(body, &er); err != nil || er.Error == nil {
		return &goopenai.RequestError{HTTPStatus: resp.Status, HTTPStatusCode: resp.StatusCode, Err: err, Body: body}
	}
	er.Error.HTTPStatus, er.Error.HTTPStatusCode = resp.Status, resp.StatusCode
	return er.Error
}

// relayOnce makes an unstreamed call and returns the upstream's answer as
// received, with what it says.
func (m *Model) relayOnce(ctx context.Context, path string, body []byte, api string) (answer, []byte, error) {
	cctx, call := withCallState(ctx)
	resp, err := m.post(cctx, path, body, false)
	if err != nil {
		return answer{}, nil, m.classify(ctx, cctx, call, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxRelayBody+1))
	switch {
	case err != nil:
		return answer{}, nil, m.classify(ctx, cctx, call, err)
	case len(raw) > maxRelayBody:
		return answer{}, nil, task.Errorf(task.CodeTooLarge, "model %q: %v", m.spec.Name, errTooLarge)
	case !gjson.ValidBytes(raw) || !gjson.ParseBytes(raw).IsObject():
		return answer{}, nil, m.fromTransport(errMalformedChunk)
	}
	a, err := readAnswer(gjson.ParseBytes(raw), api)
	if err != nil {
		return answer{}, nil, task.Errorf(task.CodeUpstream, "model %q %s; check that base_url points at an OpenAI-compatible API", m.spec.Name, err)
	}
	return a, raw, nil
}

// readAnswer reads what an unstreamed answer says: choice 0's text, tool
// calls and finish reason, and the usage.
func readAnswer(v gjson.Result, api string) (answer, error) {
	var a answer
	if u := v.Get("usage"); u.IsObject() {
		a.usage = task.Usage{PromptTokens: int(u.Get("prompt_tokens").Int()), CompletionTokens: int(u.Get("completion_tokens").Int())}
	}
	if api == task.APIEmbeddings {
		if !v.Get("data").IsArray() {
			return answer{}, errors.New("answered with no data")
		}
		return a, nil
	}
	ch := v.Get("choices.0")
	if !ch.IsObject() {
		return answer{}, errors.New("answered with no choices")
	}
	a.finish = ch.Get("finish_reason").Str
	if api == task.APICompletions {
		a.text = ch.Get("text").Str
		return a, nil
	}
	msg := ch.Get("message")
	a.text = msg.Get("content").Str
	if tc := msg.Get("tool_calls"); tc.IsArray() {
		var calls []goopenai.ToolCall
		if json.Unmarshal([]byte(tc.Raw), &calls) == nil {
			a.calls = fromToolCalls(calls)
		}
	}
	return a, nil
}

// estimateRelayUsage estimates the usage of an answer whose upstream
// reported none, from the body's conversation, prompt or input.
func estimateRelayUsage(body []byte, a *answer) task.Usage {
	v := gjson.GetManyBytes(body, "messages", "prompt", "input")
	prompt := 0
	for _, part := range v {
		prompt += task.EstimateTokens(part.Raw)
	}
	return task.Usage{PromptTokens: prompt, CompletionTokens: task.EstimateTokens(a.text) + estimateCalls(a.calls)}
}
