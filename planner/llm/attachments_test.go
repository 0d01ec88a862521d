package llm

import (
	"context"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// The planner model sees the request's files as placeholders with their
// types, never their bytes, and a plan that uses one, in any reference
// form, refers to it without depending on it.
func TestPlannerSeesAttachments(t *testing.T) {
	answer := `[{"task":"caption","id":0,"dep":[-1],"args":{"image":"<resource>-a1"}},` +
		`{"task":"translate","id":1,"dep":[0],"args":{"text":"<GENERATED>-0","target_lang":"fr"}}]`
	gen := &scripted{answers: []string{answer}}
	p, err := New(gen, task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	photo := []byte("\x89PNG\r\n\x1a\n not really")
	req := task.Request{ID: "r1", Input: "Describe this image in French",
		Attachments: []task.Attachment{{Name: "fox.png", MIME: "image/png", Size: 12345, Artifact: "art_0123456789abcdef0123456789abcdef"}, {Name: "memo.wav", MIME: "audio/wav", Data: photo}}}
	plan, err := p.Plan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	prompt := gen.seen[0].Input
	for _, want := range []string{"Request: Describe this image in French\nAttachments", "- {{a1}}: image fox.png (image/png, 12,345 bytes)", "- {{a2}}: audio memo.wav (audio/wav, 19 bytes)"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("the prompt does not say %q:\n%s", want, prompt[strings.Index(prompt, "Request: Describe"):])
		}
	}
	if strings.Contains(prompt, "art_0123") || strings.Contains(prompt, "not really") {
		t.Error("the prompt holds an artifact id or bytes")
	}
	t1 := plan.Tasks[0]
	if len(t1.Deps) != 0 || !strings.Contains(t1.Input+t1.Args["image"], "{{a1}}") || plan.Tasks[1].Deps[0] != "t1" {
		t.Fatalf("plan %+v", plan.Tasks)
	}
}
