package task

import "testing"

// A request naming a model runs one step on it: "chat" when the model
// offers it, else its first capability, with the request's text as input.
func TestPinnedTo(t *testing.T) {
	tests := []struct {
		caps []string
		want string
	}{
		{[]string{"summarize", "chat"}, "chat"},
		{[]string{"summarize", "keywords"}, "summarize"},
	}
	req := Request{Messages: []Message{{Role: "user", Content: "first"}, {Role: "assistant", Content: "ok"}, {Role: "user", Content: "second"}}}
	for _, tc := range tests {
		got := req.PinnedTo(ModelSpec{Name: "m", Capabilities: tc.caps})
		if got.Model != "m" || got.Plan == nil || len(got.Plan.Tasks) != 1 {
			t.Fatalf("PinnedTo(%v) = model %q, plan %+v", tc.caps, got.Model, got.Plan)
		}
		if s := got.Plan.Tasks[0]; s.Capability != tc.want || s.Input != "second" || len(s.Deps) != 0 {
			t.Errorf("PinnedTo(%v): step %+v, want capability %s on the last user message", tc.caps, s, tc.want)
		}
		if err := got.Plan.Validate(DefaultLimits, nil); err != nil {
			t.Errorf("PinnedTo(%v): the plan does not validate: %v", tc.caps, err)
		}
	}
	if req.Plan != nil || req.Model != "" {
		t.Error("PinnedTo changed the request it was called on")
	}
}
