package localmodel

import (
	"runtime"

	"github.com/taskrouter/taskrouter/task"
)

// Builtins returns the built-in local models in a fixed order. Each runs in
// the process with no network and no downloaded weights; the quality
// scores are honest estimates measured on the labelled sets in testdata.
func Builtins() []Builtin {
	return []Builtin{
		builtin("textstats", 0.95, func() Model { return TextStats{} }),
		builtin("summarize", 0.6, func() Model { return Summarize{} }),
		builtin("keywords", 0.6, func() Model { return Keywords{} }),
		builtin("langid", 0.9, func() Model { return LangID{} }),
		builtin("calc", 0.9, func() Model { return Calc{} }),
		builtin("extract", 0.8, func() Model { return Extract{} }),
		builtin("sentiment", 0.65, func() Model { return Sentiment{} }),
		named("local/imageinfo", "imageinfo", 0.95, func() Model { return ImageInfo{} }),
		named("local/imageops", "image-edit", 0.6, func() Model { return ImageOps{} }),
		named("local/audioinfo", "audioinfo", 0.95, func() Model { return AudioInfo{} }),
	}
}

// Lookup returns the built-in model with the given name, such as
// "local/summarize".
func Lookup(name string) (Builtin, bool) {
	for _, b := range Builtins() {
		if b.Spec.Name == name {
			return b, true
		}
	}
	return Builtin{}, false
}

// builtin makes the spec of local/<capability>, a model with one
// capability. The models are CPU-bound and quick, so a replica runs two
// subtasks per core.
func builtin(capability string, quality float64, newModel func() Model) Builtin {
	return named("local/"+capability, capability, quality, newModel)
}

// named makes the spec of a built-in model with one capability.
func named(name, capability string, quality float64, newModel func() Model) Builtin {
	return Builtin{
		Spec: task.ModelSpec{
			Name:         name,
			Backend:      task.BackendLocal,
			Capabilities: []string{capability},
			Quality:      map[string]float64{capability: quality},
			Concurrency:  runtime.NumCPU() * 2,
		},
		New: newModel,
	}
}
