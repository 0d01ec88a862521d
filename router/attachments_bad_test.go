package router_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/task"
)

// Bad attachments on tr.v1.req: data that is not base64 is refused when
// the request is decoded; an image that does not decode, a MIME type that
// lies and data over the limit are refused naming the attachment and the
// problem; none of them is stored.
func TestBadAttachmentsAreRefusedAndNotStored(t *testing.T) {
	r, store := mediaRouter(t, mediaOpts{maxBytes: 4096}, served("m/look", look, 4, "look"))
	p := plan(sub("t1", "look", "{{a1}}"))
	undecodable := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{0xff}, 40)...)
	big := append(pngHeader(), make([]byte, 5000)...)
	for _, c := range []struct {
		name string
		att  task.Attachment
		says string
	}{
		{"undecodable", task.Attachment{Name: "a.png", MIME: "image/png", Data: undecodable}, "attachments[0] (a.png): it is declared as image/png, but the image cannot be decoded"},
		{"lying", task.Attachment{Name: "b.wav", MIME: "audio/wav", Data: pngHeader()}, "attachments[0] (b.wav): it is declared as audio/wav, but the content is image/png"},
		{"over the limit", task.Attachment{Name: "c.png", MIME: "image/png", Data: big}, "attachments[0] (c.png): the artifact is larger than the limit of 4096 bytes (artifacts.max_bytes)"},
	} {
		resp := r.Handle(context.Background(), task.Request{Input: "x", Plan: &p, Attachments: []task.Attachment{c.att}}, nil)
		if resp.Error == nil || (resp.Error.Code != task.CodeInvalidRequest && resp.Error.Code != task.CodeTooLarge) || !strings.Contains(resp.Error.Message, c.says) {
			t.Errorf("%s: %+v", c.name, resp.Error)
		}
		sum := sha256.Sum256(c.att.Data)
		if _, err := store.Stat(context.Background(), task.ArtifactID(hex.EncodeToString(sum[:]))); !errors.Is(err, artifacts.ErrNotFound) {
			t.Errorf("%s: the refused data was stored: %v", c.name, err)
		}
	}
	_, err := task.DecodeRequest([]byte(`{"input":"x","attachments":[{"name":"d.png","mime":"image/png","data":"not base64!"}]}`), task.Limits{})
	if e := task.AsError(err); e == nil || e.Code != task.CodeInvalidRequest || !strings.Contains(e.Message, "attachments[0] (d.png): data is not base64") {
		t.Errorf("data that is not base64: %v", err)
	}
}
