package openai

import (
	"context"
	"encoding/base64"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// see does a step on images through chat (caption, vqa, ocr): the
// input's text and each image, as a data: URI image part, in one user
// message after the capability's instruction, as a vision model reads
// them.
func (m *Model) see(ctx context.Context, w task.Work, store task.Artifacts, progress func(string)) (task.Output, error) {
	msgs, err := Messages(w)
	if err != nil {
		return task.Output{}, err
	}
	parts := []goopenai.ChatMessagePart{}
	if text := prompt(w); text != "" {
		parts = append(parts, goopenai.ChatMessagePart{Type: goopenai.ChatMessagePartTypeText, Text: text})
	}
	for _, a := range w.Artifacts {
		if a.Kind() != task.TypeImage {
			return task.Output{}, task.Errorf(task.CodeBadInput, "model %q reads images through chat, and %s is %s; give it images, or serve %s through api: transcriptions",
				m.spec.Name, a.Ref, a.MIME, w.Capability)
		}
		data, ref, err := readArtifact(ctx, store, a)
		if err != nil {
			return task.Output{}, err
		}
		uri := "data:" + strings.TrimSpace(strings.SplitN(ref.MIME, ";", 2)[0]) + ";base64," + base64.StdEncoding.EncodeToString(data)
		parts = append(parts, goopenai.ChatMessagePart{Type: goopenai.ChatMessagePartTypeImageURL, ImageURL: &goopenai.ChatMessageImageURL{URL: uri, Detail: goopenai.ImageURLDetailAuto}})
	}
	// The input is the user message after the instruction and context.
	i := 1 + len(w.Context)
	msgs[i].Content, msgs[i].MultiContent = "", parts
	return m.chat(ctx, w, msgs, progress)
}
