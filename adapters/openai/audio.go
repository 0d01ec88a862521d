package openai

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// transcribe writes down the speech of the work's first recording
// through the transcriptions API (multipart, the recording streamed from
// the store). Args language and prompt pass on.
func (m *Model) transcribe(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	if len(w.Artifacts) == 0 {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %q transcribes recordings, and the subtask brings none; refer to one as {{a1}} or {{t1}}", m.spec.Name)
	}
	a := w.Artifacts[0]
	if a.Kind() != task.TypeAudio {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %q transcribes recordings, and %s is %s", m.spec.Name, a.Ref, a.MIME)
	}
	rc, ref, err := store.Open(ctx, a.ID)
	if err != nil {
		return task.Output{}, err
	}
	defer rc.Close()
	ref.Ref = a.Ref
	req := goopenai.AudioRequest{Model: m.upstream, FilePath: fileName(ref), Reader: rc, Language: w.Args["language"], Prompt: w.Args["prompt"]}
	cctx, call := withCallState(ctx)
	resp, err := m.client.CreateTranscription(cctx, req)
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	return task.Output{Text: strings.TrimSpace(resp.Text)}, nil
}

// speechFormats are the response formats of the speech API, with the
// media type of each.
var speechFormats = map[string]string{
	"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "pcm": "audio/pcm",
}

// speak reads the work's input aloud through the speech API and streams
// the audio into the store. Args voice (alloy), format (wav), speed and
// instructions pass on.
func (m *Model) speak(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	text := prompt(w)
	if text == "" {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %q: there is no text to read aloud", m.spec.Name)
	}
	req := goopenai.CreateSpeechRequest{Model: goopenai.SpeechModel(m.upstream), Input: text, Voice: goopenai.VoiceAlloy,
		ResponseFormat: goopenai.SpeechResponseFormatWav, Instructions: w.Args["instructions"]}
	if v := strings.TrimSpace(w.Args["voice"]); v != "" {
		req.Voice = goopenai.SpeechVoice(v)
	}
	if f := strings.ToLower(strings.TrimSpace(w.Args["format"])); f != "" {
		if _, ok := speechFormats[f]; !ok {
			return task.Output{}, task.Errorf(task.CodeBadInput, "arg format %q must be one of wav, mp3, opus, aac, flac or pcm", f)
		}
		req.ResponseFormat = goopenai.SpeechResponseFormat(f)
	}
	if s := strings.TrimSpace(w.Args["speed"]); s != "" {
		speed, err := strconv.ParseFloat(s, 64)
		if err != nil || speed < 0.25 || speed > 4 {
			return task.Output{}, task.Errorf(task.CodeBadInput, "arg speed %q must be a number from 0.25 to 4", s)
		}
		req.Speed = speed
	}
	cctx, call := withCallState(ctx)
	resp, err := m.client.CreateSpeech(cctx, req)
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	defer resp.Close()
	mime := speechFormats[string(req.ResponseFormat)]
	name := fmt.Sprintf("%s-speech.%s", stepName(w), req.ResponseFormat)
	ref, err := store.Put(ctx, task.ArtifactRef{Name: name, MIME: mime}, resp)
	if err != nil {
		return task.Output{}, m.storeErr("speech", err)
	}
	out := produced([]task.ArtifactRef{ref}, "")
	// Speech is billed by its input: its tokens at the model's input price.
	out.Usage = task.Usage{PromptTokens: task.EstimateTokens(text)}
	out.Usage.CostUSD = m.spec.Cost(out.Usage.PromptTokens, 0)
	return out, nil
}
