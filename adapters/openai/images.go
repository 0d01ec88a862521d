package openai

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// b64Format is the response_format to ask for: b64_json, so that the
// image comes in the answer with no second fetch, except of the
// gpt-image models, which always answer base64 and refuse the field.
func (m *Model) b64Format() string {
	if strings.HasPrefix(m.upstream, "gpt-image") {
		return ""
	}
	return goopenai.CreateImageResponseFormatB64JSON
}

// generateImage draws the work's input through the images API and
// stores what comes back. Args size, quality, style and n pass on.
func (m *Model) generateImage(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	n, err := imageCount(w.Args)
	if err != nil {
		return task.Output{}, err
	}
	req := goopenai.ImageRequest{Model: m.upstream, Prompt: prompt(w), N: n, Size: w.Args["size"], Quality: w.Args["quality"],
		Style: w.Args["style"], ResponseFormat: m.b64Format()}
	if req.Prompt == "" {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %q: the image to draw has no description; say what the picture should show", m.spec.Name)
	}
	cctx, call := withCallState(ctx)
	resp, err := m.client.CreateImage(cctx, req)
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	return m.storeImages(ctx, w, store, resp)
}

// editImage edits the work's first image as its text says, through the
// images API's edits (multipart), and stores what comes back.
func (m *Model) editImage(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	n, err := imageCount(w.Args)
	if err != nil {
		return task.Output{}, err
	}
	a := w.Artifacts[0]
	if a.Kind() != task.TypeImage {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %q edits images, and %s is %s", m.spec.Name, a.Ref, a.MIME)
	}
	rc, ref, err := store.Open(ctx, a.ID)
	if err != nil {
		return task.Output{}, err
	}
	defer rc.Close()
	ref.Ref = a.Ref
	req := goopenai.ImageEditRequest{Model: m.upstream, Image: goopenai.WrapReader(rc, fileName(ref), ref.MIME), Prompt: prompt(w), N: n,
		Size: w.Args["size"], Quality: w.Args["quality"], ResponseFormat: m.b64Format()}
	if req.Prompt == "" {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %q: the edit has no instructions; say what to change in the image", m.spec.Name)
	}
	cctx, call := withCallState(ctx)
	resp, err := m.client.CreateEditImage(cctx, req)
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	return m.storeImages(ctx, w, store, resp)
}

// imageCount reads the n arg: how many images to make, 1 by default.
func imageCount(args map[string]string) (int, error) {
	v := strings.TrimSpace(args["n"])
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10 {
		return 0, task.Errorf(task.CodeBadInput, "arg n %q must be a number of images from 1 to 10", v)
	}
	return n, nil
}

// storeImages stores the images of an answer: decoded from b64_json as
// they stream into the store, or, from an upstream that answered with
// urls anyway, fetched through the model's client.
func (m *Model) storeImages(ctx context.Context, w task.Work, store task.Artifacts, resp goopenai.ImageResponse) (task.Output, error) {
	if len(resp.Data) == 0 {
		return task.Output{}, task.Errorf(task.CodeUpstream, "model %q answered with no image", m.spec.Name)
	}
	refs := make([]task.ArtifactRef, 0, len(resp.Data))
	for i, d := range resp.Data {
		name := fmt.Sprintf("%s-image-%d.png", stepName(w), i+1)
		ref, err := m.storeImage(ctx, store, d, name)
		if err != nil {
			return task.Output{}, err
		}
		refs = append(refs, ref)
	}
	out := produced(refs, "")
	// gpt-image models count tokens; DALL-E reports none, and its price
	// per image is not a price per token.
	out.Usage = task.Usage{PromptTokens: resp.Usage.InputTokens, CompletionTokens: resp.Usage.OutputTokens}
	out.Usage.CostUSD = m.spec.Cost(out.Usage.PromptTokens, out.Usage.CompletionTokens)
	return out, nil
}

func (m *Model) storeImage(ctx context.Context, store task.Artifacts, d goopenai.ImageResponseDataInner, name string) (task.ArtifactRef, error) {
	if d.B64JSON != "" {
		ref, err := store.Put(ctx, task.ArtifactRef{Name: name}, base64.NewDecoder(base64.StdEncoding, strings.NewReader(d.B64JSON)))
		if err != nil {
			return ref, m.storeErr("image", err)
		}
		return ref, nil
	}
	if d.URL == "" {
		return task.ArtifactRef{}, task.Errorf(task.CodeUpstream, "model %q answered an image with neither b64_json nor url", m.spec.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return task.ArtifactRef{}, task.Errorf(task.CodeUpstream, "model %q answered an image url that is not one: %v", m.spec.Name, err)
	}
	resp, err := m.doer.next.Do(req) // the provider's own url: no key, no headers
	if err != nil {
		return task.ArtifactRef{}, m.fromTransport(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return task.ArtifactRef{}, task.Errorf(task.CodeUpstream, "model %q: fetching its image answered %s", m.spec.Name, resp.Status)
	}
	return store.Put(ctx, task.ArtifactRef{Name: name, MIME: resp.Header.Get("Content-Type")}, resp.Body)
}
