package task

// ModelTaskrouter is the model name that asks taskrouter to plan a request
// instead of sending it to one model: on every ingress, the same as naming
// no model.
const ModelTaskrouter = "taskrouter"

// PinnedTo returns the request as it runs when it names the model that
// spec describes and brings no plan of its own: one step, with capability
// "chat" when the model has it, else its first one, whose input is the
// request's text, pinned to the model (Hints.Model), so that only the
// model, or the fallbacks its spec lists, serve it. Every ingress builds
// a named model's request with it, so they follow one rule.
func (r Request) PinnedTo(spec ModelSpec) Request {
	capability := "chat"
	if !spec.Has(capability) && len(spec.Capabilities) > 0 {
		capability = spec.Capabilities[0]
	}
	input, _ := r.Text()
	r.Plan = &Plan{Tasks: []Subtask{{ID: "t1", Capability: capability, Input: input, Deps: []string{}}}}
	r.Model = spec.Name
	return r
}
