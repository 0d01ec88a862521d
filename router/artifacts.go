package router

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// ArtifactStore is what the router needs of the artifact store: to check
// and store the data a request brings inline (Ingest), and to find the
// artifacts it names (Stat).
type ArtifactStore interface {
	Ingest(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, error)
	Stat(ctx context.Context, id string) (task.ArtifactRef, error)
}

// resolveAttachments stores the request's inline attachments and looks
// up the ones it names, so that each is a stored artifact with its MIME
// type and size, and no data travels further.
func (r *Router) resolveAttachments(ctx context.Context, req *task.Request) error {
	if len(req.Attachments) == 0 {
		return nil
	}
	if r.cfg.Artifacts == nil {
		return task.Errorf(task.CodeUnavailable, "this router has no artifact store, so it cannot take attachments")
	}
	out := make([]task.Attachment, len(req.Attachments))
	for i, a := range req.Attachments {
		ref, err := r.resolveAttachment(ctx, a)
		if err != nil {
			e := *task.AsError(err)
			e.Message = fmt.Sprintf("attachments[%d]%s: %s", i, nameOf(a.Name), e.Message)
			return &e
		}
		name := a.Name
		if name == "" {
			name = ref.Name
		}
		out[i] = task.Attachment{Name: name, MIME: ref.MIME, Artifact: ref.ID, Size: ref.Size}
	}
	req.Attachments = out
	return nil
}

func (r *Router) resolveAttachment(ctx context.Context, a task.Attachment) (task.ArtifactRef, error) {
	if len(a.Data) > 0 {
		return r.cfg.Artifacts.Ingest(ctx, task.ArtifactRef{Name: a.Name, MIME: a.MIME}, bytes.NewReader(a.Data))
	}
	return r.cfg.Artifacts.Stat(ctx, a.Artifact)
}

func nameOf(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}

// attachmentRefs are the request's attachments as a plan sees them.
func attachmentRefs(req task.Request) []task.ArtifactRef {
	refs := make([]task.ArtifactRef, len(req.Attachments))
	for i, a := range req.Attachments {
		refs[i] = a.Ref(i)
	}
	return refs
}

// takesBinary reports whether a capability reads binary data, so that a
// {{ref}} to a step that produced artifacts means those artifacts.
func (ru *run) takesBinary(capability string) bool {
	c, ok := ru.r.catalog().Get(capability)
	return ok && slices.ContainsFunc(c.Inputs, task.IsBinaryType)
}

// substitutions returns what each {{ref}} of subtask s stands for and the
// artifacts s reads: a finished dependency's text output, or, for a step
// that reads binary data, the artifacts it produced; an attachment's
// placeholder. It reads the run's state, so only the scheduling
// goroutine calls it.
func (ru *run) substitutions(s task.Subtask) (map[string]string, []task.ArtifactRef) {
	refs := s.References()
	if len(ru.attachments) == 0 && len(ru.produced) == 0 {
		return ru.outputs, nil
	}
	values := make(map[string]string, len(refs))
	var reads []task.ArtifactRef
	binary := ru.takesBinary(s.Capability)
	for _, id := range refs {
		var arts []task.ArtifactRef
		if out, done := ru.outputs[id]; done {
			values[id] = out
			if binary {
				arts = ru.produced[id]
			}
		} else if i := slices.IndexFunc(ru.attachments, func(a task.ArtifactRef) bool { return a.Ref == id }); i >= 0 {
			arts = ru.attachments[i : i+1]
		}
		if len(arts) == 0 {
			continue
		}
		holders := make([]string, len(arts))
		for k, a := range arts {
			a.Ref = id
			holders[k] = a.Placeholder()
			reads = append(reads, a)
		}
		values[id] = strings.Join(holders, " ")
	}
	return values, reads
}

// producedArtifacts lists what the run's subtasks produced, in plan order.
func producedArtifacts(states []task.SubtaskState) []task.ArtifactRef {
	var out []task.ArtifactRef
	for _, st := range states {
		if st.Status == task.StatusDone {
			out = append(out, st.Artifacts...)
		}
	}
	return out
}

// checkAttachments resolves attachments a request given to Run still
// carries as data, then checks the types along the plan's edges.
func (r *Router) checkAttachments(ctx context.Context, req *task.Request, plan task.Plan) error {
	for _, a := range req.Attachments {
		if !a.Resolved() || a.MIME == "" {
			if err := r.resolveAttachments(ctx, req); err != nil {
				return err
			}
			break
		}
	}
	return plan.CheckTypes(r.cfg.Catalog, attachmentRefs(*req))
}
