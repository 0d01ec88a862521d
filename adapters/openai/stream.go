package openai

import (
	"context"
	"errors"
	"io"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// Sentinel causes of a failed stream that no library error describes.
var (
	// errStalled cancels a call whose stream sent nothing for the idle timeout.
	errStalled = errors.New("the stream sent nothing for too long")
	// errTruncated is a stream that ended cleanly without finishing.
	errTruncated = errors.New("the stream ended before the model finished; check that base_url points at an OpenAI-compatible API")
)

// answer is what a stream delivered.
type answer struct {
	text   string
	calls  []call
	usage  task.Usage
	finish string
}

// stream runs one streaming call. Every error it returns is a *task.Error.
func (m *Model) stream(ctx context.Context, req goopenai.ChatCompletionRequest, progress func(string)) (answer, error) {
	sctx, call := withCallState(ctx)
	sctx, stop := context.WithCancelCause(sctx)
	defer stop(nil)
	idle := time.AfterFunc(m.idle, func() { stop(errStalled) })
	defer idle.Stop()

	s, err := m.client.CreateChatCompletionStream(sctx, req)
	if err != nil {
		return answer{}, m.classify(ctx, sctx, call, err)
	}
	defer s.Close()
	a, err := m.read(s, idle, progress)
	if err != nil {
		return answer{}, m.classify(ctx, sctx, call, err)
	}
	if a.finish == string(goopenai.FinishReasonContentFilter) {
		return answer{}, task.Errorf(task.CodeBadInput, "model %q: the provider's content filter stopped the answer; rephrase the input or use another model", m.spec.Name)
	}
	return a, nil
}

// read consumes chunks until [DONE], forwarding text as it arrives and
// re-arming the idle timer on every chunk.
func (m *Model) read(s *goopenai.ChatCompletionStream, idle *time.Timer, progress func(string)) (answer, error) {
	var col collector
	for {
		raw, err := s.RecvRaw()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return answer{}, err
		}
		idle.Reset(m.idle)
		delta, err := col.add(raw)
		if err != nil {
			return answer{}, err
		}
		if delta != "" && progress != nil {
			progress(delta)
		}
	}
	if !col.ended {
		return answer{}, errTruncated
	}
	return answer{text: col.text.String(), calls: col.toolCalls(), usage: col.usage, finish: col.finish}, nil
}

// complete runs one call without streaming. Every error it returns is a
// *task.Error.
func (m *Model) complete(ctx context.Context, req goopenai.ChatCompletionRequest) (answer, error) {
	cctx, call := withCallState(ctx)
	req.Stream, req.StreamOptions = false, nil
	resp, err := m.client.CreateChatCompletion(cctx, req)
	if err != nil {
		return answer{}, m.classify(ctx, cctx, call, err)
	}
	if len(resp.Choices) == 0 {
		return answer{}, task.Errorf(task.CodeUpstream, "model %q answered with no choices; check that base_url points at an OpenAI-compatible API", m.spec.Name)
	}
	ch := resp.Choices[0]
	if ch.FinishReason == goopenai.FinishReasonContentFilter {
		return answer{}, task.Errorf(task.CodeBadInput, "model %q: the provider's content filter stopped the answer; rephrase the input or use another model", m.spec.Name)
	}
	return answer{text: ch.Message.Content, calls: fromToolCalls(ch.Message.ToolCalls), finish: string(ch.FinishReason),
		usage: task.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens}}, nil
}
