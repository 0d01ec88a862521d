package rules

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// With an attachment, the steps that work on it refer to it as {{a1}},
// and the plan passes the type checks the router makes.
func TestPlanWithAttachments(t *testing.T) {
	p, err := New(task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	png := task.Attachment{Name: "photo.png", MIME: "image/png", Artifact: "art_0123456789abcdef0123456789abcdef", Size: 10}
	wav := task.Attachment{Name: "memo.wav", MIME: "audio/wav", Artifact: "art_fedcba9876543210fedcba9876543210", Size: 10}
	for _, c := range []struct {
		input string
		atts  []task.Attachment
		want  string
	}{
		{"What size is this image? Then make it grayscale and 128 px wide.", []task.Attachment{png},
			`[{"id":"t1","capability":"imageinfo","input":"{{a1}}","deps":[]},{"id":"t2","capability":"image-edit","input":"make it grayscale and 128 px wide\n\n{{a1}}","deps":[]}]`},
		{"What size is photo.png?", []task.Attachment{png}, `[{"id":"t1","capability":"imageinfo","input":"{{a1}}","deps":[]}]`},
		{"what size is this picture?", []task.Attachment{png}, `[{"id":"t1","capability":"imageinfo","input":"{{a1}}","deps":[]}]`},
		{"describe this image and translate the description into French", []task.Attachment{png},
			`[{"id":"t1","capability":"caption","input":"{{a1}}","deps":[]},{"id":"t2","capability":"translate","input":"{{t1}}","args":{"target_lang":"fr"},"deps":["t1"]}]`},
		// speech in a language the description is not in: translated first
		{"Describe this picture and read the description aloud in German", []task.Attachment{png},
			`[{"id":"t1","capability":"caption","input":"{{a1}}","deps":[]},{"id":"t2","capability":"translate","input":"{{t1}}","args":{"target_lang":"de"},"deps":["t1"]},{"id":"t3","capability":"tts","input":"{{t2}}","args":{"target_lang":"de"},"deps":["t2"]}]`},
		{"make it grayscale", []task.Attachment{png}, `[{"id":"t1","capability":"image-edit","input":"{{a1}} make it grayscale","deps":[]}]`},
		{"这张图片多大？", []task.Attachment{png}, `[{"id":"t1","capability":"imageinfo","input":"{{a1}}","deps":[]}]`},
		{"How long is this recording?", []task.Attachment{wav}, `[{"id":"t1","capability":"audioinfo","input":"{{a1}}","deps":[]}]`},
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: c.input, Attachments: c.atts})
		if err != nil {
			t.Fatalf("%q: %v", c.input, err)
		}
		got, _ := json.Marshal(plan.Tasks)
		if string(got) != c.want {
			t.Errorf("%q planned\n%s\nwant\n%s", c.input, got, c.want)
		}
		var refs []task.ArtifactRef
		for i, a := range c.atts {
			refs = append(refs, a.Ref(i))
		}
		if err := plan.CheckTypes(task.BuiltinCatalog(), refs); err != nil {
			t.Errorf("%q: %v", c.input, err)
		}
	}
}
