package task

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckTypes(t *testing.T) {
	cat := BuiltinCatalog()
	png := []ArtifactRef{{ID: "art_" + strings.Repeat("a", 32), MIME: "image/png", Size: 10, Name: "photo.png", Ref: "a1"}}
	wav := []ArtifactRef{{ID: "art_" + strings.Repeat("b", 32), MIME: "audio/wav", Size: 10, Ref: "a1"}}
	step := func(id, capability, input string, deps ...string) Subtask {
		if deps == nil {
			deps = []string{}
		}
		return Subtask{ID: id, Capability: capability, Input: input, Deps: deps}
	}
	for _, c := range []struct {
		name        string
		plan        Plan
		attachments []ArtifactRef
		want        []string // in the error; none means valid
	}{
		{"image to caption to translate", Plan{Tasks: []Subtask{step("t1", "image-generate", "a fox"), step("t2", "caption", "{{t1}}", "t1"), step("t3", "translate", "{{t2}}", "t2")}}, nil, nil},
		{"image straight to translate", Plan{Tasks: []Subtask{step("t1", "image-generate", "a fox"), step("t2", "translate", "{{t1}}", "t1")}}, nil,
			[]string{`"t2"`, "translate", "reads text", "{{t1}}", "image-generate", "produces image", "caption", "ocr"}},
		{"attachment to imageinfo and image-edit", Plan{Tasks: []Subtask{step("t1", "imageinfo", "{{a1}}"), step("t2", "image-edit", "{{a1}} make it grayscale")}}, png, nil},
		{"attachment to summarize", Plan{Tasks: []Subtask{step("t1", "summarize", "{{a1}}")}}, png,
			[]string{"summarize", "{{a1}}", "image attachment", "photo.png", "caption"}},
		{"audio to an image step", Plan{Tasks: []Subtask{step("t1", "imageinfo", "{{a1}}")}}, wav, []string{"imageinfo", "cannot read audio"}},
		{"missing attachment", Plan{Tasks: []Subtask{step("t1", "imageinfo", "{{a2}}")}}, png, []string{"{{a2}}", "1 attachments"}},
		{"text to an image step", Plan{Tasks: []Subtask{step("t1", "imageinfo", "photo.png")}}, nil, []string{"imageinfo", "reads image", "refers to no image", "{{a1}}"}},
		{"text to speech to text", Plan{Tasks: []Subtask{step("t1", "tts", "hello"), step("t2", "asr", "{{t1}}", "t1")}}, nil, nil},
		{"keywords json into translate", Plan{Tasks: []Subtask{step("t1", "keywords", "x"), step("t2", "translate", "{{t1}}", "t1")}}, nil, nil},
		{"text into image-edit's image", Plan{Tasks: []Subtask{step("t1", "summarize", "x"), step("t2", "image-edit", "{{t1}}", "t1")}}, nil, []string{"image-edit", "refers to no image"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.plan.Validate(Limits{}, cat.Has); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			err := c.plan.CheckTypes(cat, c.attachments)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("CheckTypes = %v, want nil", err)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Code != CodeInvalidPlan {
				t.Fatalf("CheckTypes = %v, want an invalid_plan error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(te.Message, w) {
					t.Errorf("error %q lacks %q", te.Message, w)
				}
			}
		})
	}
}

func TestValidateTakesAttachmentReferences(t *testing.T) {
	p := Plan{Tasks: []Subtask{{ID: "t1", Capability: "imageinfo", Input: "{{a1}}", Deps: []string{}}}}
	if err := p.Validate(Limits{}, nil); err != nil {
		t.Fatal(err)
	}
	p.Tasks[0].Input = "{{b1}}"
	if err := p.Validate(Limits{}, nil); err == nil {
		t.Fatal("a reference to b1, neither a dependency nor an attachment, was accepted")
	}
}

func TestAttachmentsOnTheWire(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"input":"What size is this image?","attachments":[{"name":"p.png","mime":"image/png","data":"iVBORw=="},{"artifact":"art_0123456789abcdef0123456789abcdef"}]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Attachments) != 2 || string(r.Attachments[0].Data) != "\x89PNG" || r.Attachments[1].Artifact == "" {
		t.Fatalf("attachments = %+v", r.Attachments)
	}
	for _, bad := range []string{`[{"name":"p.png","mime":"image/png","data":"not base64!"}]`, `[{"artifact":"art_nope"}]`,
		`[{}]`, `[{"data":"AA==","artifact":"art_0123456789abcdef0123456789abcdef"}]`, `[{"name":"../x","data":"AA=="}]`} {
		if _, err := DecodeRequest([]byte(`{"input":"x","attachments":`+bad+`}`), Limits{}); err == nil {
			t.Errorf("attachments %s were accepted", bad)
		}
	}
	data, _ := json.Marshal(Work{Artifacts: []ArtifactRef{{ID: "art_x", MIME: "image/png", Size: 3, Ref: "a1"}}})
	if !strings.Contains(string(data), `"artifacts":[{"id":"art_x","mime":"image/png","size":3,"ref":"a1"}]`) {
		t.Fatalf("work = %s", data)
	}
}

func TestKindOfMIME(t *testing.T) {
	for mime, want := range map[string]string{"image/png": "image", "Audio/WAV": "audio", "video/mp4": "video", "text/plain": "file", "application/pdf": "file", "": "file"} {
		if got := KindOfMIME(mime); got != want {
			t.Errorf("KindOfMIME(%q) = %q, want %q", mime, got, want)
		}
	}
}
