package router

import (
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// FileLink is where an artifact's bytes are served, relative to the
// router's HTTP API: ingresses that know their address make it absolute.
func FileLink(id string) string { return "/v1/files/" + id + "/content" }

// artifactLink is a Markdown link to an artifact: an image for images,
// so that chat frontends show the picture, a plain link otherwise.
func artifactLink(a task.ArtifactRef) string {
	name := a.Name
	if name == "" {
		name = a.ID
	}
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune("[]()\n\r", r) {
			return '_'
		}
		return r
	}, name)
	link := "[" + name + "](" + FileLink(a.ID) + ")"
	if a.Kind() == task.TypeImage {
		return "!" + link
	}
	return link
}

// withoutDescriptions drops from a step's output the lines that only
// describe its artifacts (what executors write for them), which the
// links replace.
func withoutDescriptions(text string, arts []task.ArtifactRef) string {
	if len(arts) == 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	kept := lines[:0]
	for _, l := range lines {
		described := false
		for _, a := range arts {
			described = described || strings.TrimSpace(l) == a.String()
		}
		if !described {
			kept = append(kept, l)
		}
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

// withArtifactLinks ends a template answer with a link to every
// artifact the plan's steps produced, in plan order, each once.
func withArtifactLinks(answer string, states []task.SubtaskState) string {
	var links []string
	for _, st := range states {
		if st.Status != task.StatusDone {
			continue
		}
		for _, a := range st.Artifacts {
			if l := artifactLink(a); !strings.Contains(answer, FileLink(a.ID)) {
				links = append(links, l)
			}
		}
	}
	if len(links) == 0 {
		return answer
	}
	if answer = strings.TrimSpace(answer); answer != "" {
		answer += "\n\n"
	}
	return answer + strings.Join(links, "\n")
}
