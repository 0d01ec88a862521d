package router

import (
	"context"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// The template shows what steps produced as links, images as Markdown
// images, every one once and in plan order, in place of the lines that
// only described them.
func TestTemplateLinksArtifacts(t *testing.T) {
	img := task.ArtifactRef{ID: "art_" + strings.Repeat("a", 32), MIME: "image/png", Size: 2048, Name: "t1-image-1.png"}
	wav := task.ArtifactRef{ID: "art_" + strings.Repeat("b", 32), MIME: "audio/wav", Size: 4096, Name: "t4 [speech].wav"}
	plan := task.Plan{Tasks: []task.Subtask{
		{ID: "t1", Capability: "image-generate", Input: "a fox", Deps: []string{}},
		{ID: "t2", Capability: "caption", Input: "{{t1}}", Deps: []string{"t1"}},
		{ID: "t3", Capability: "translate", Input: "{{t2}}", Deps: []string{"t2"}},
		{ID: "t4", Capability: "tts", Input: "{{t3}}", Deps: []string{"t3"}},
	}}
	states := []task.SubtaskState{
		{ID: "t1", Status: task.StatusDone, Output: img.String(), Artifacts: []task.ArtifactRef{img}},
		{ID: "t2", Status: task.StatusDone, Output: "A red fox."},
		{ID: "t3", Status: task.StatusDone, Output: "Un renard roux."},
		{ID: "t4", Status: task.StatusDone, Output: wav.String(), Artifacts: []task.ArtifactRef{wav}},
	}
	cat := task.BuiltinCatalog()
	answer, how, _ := TemplateMerger{Catalog: cat}.Merge(context.Background(), MergeInput{Plan: plan, Subtasks: states})
	want := "![t1-image-1.png](/v1/files/" + img.ID + "/content)\n[t4 _speech_.wav](/v1/files/" + wav.ID + "/content)"
	if how != "single" || answer != want {
		t.Fatalf("%s answer:\n%s\nwant:\n%s", how, answer, want)
	}
	// Two sinks: sections, the image linked in its own.
	plan.Tasks[3].Deps, plan.Tasks[3].Input = []string{"t2"}, "{{t2}}"
	answer, how, _ = TemplateMerger{Catalog: cat}.Merge(context.Background(), MergeInput{Input: "x", Plan: plan, Subtasks: states})
	if how != "template" || strings.Count(answer, img.ID) != 1 || strings.Count(answer, wav.ID) != 1 || !strings.Contains(answer, "Un renard roux.") ||
		strings.Contains(answer, "4,096 bytes") {
		t.Fatalf("sections:\n%s", answer)
	}
}

// The model that writes the answer reads what each artifact is and how
// to link it, never its bytes, and not its description twice.
func TestMergePromptDescribesArtifacts(t *testing.T) {
	img := task.ArtifactRef{ID: "art_" + strings.Repeat("c", 32), MIME: "image/png", Size: 2048, Name: "t1-image-1.png"}
	prompt := mergePrompt(MergeInput{Input: "Draw a fox", Subtasks: []task.SubtaskState{
		{ID: "t1", Capability: "image-generate", Status: task.StatusDone, Output: img.String(), Artifacts: []task.ArtifactRef{img}}}})
	want := "(produced image t1-image-1.png, " + img.ID + " (image/png, 2,048 bytes); link it as ![t1-image-1.png](/v1/files/" + img.ID + "/content))"
	if !strings.Contains(prompt, want) || strings.Count(prompt, "2,048 bytes") != 1 {
		t.Fatalf("prompt:\n%s\nwant %s", prompt, want)
	}
}
