package task

import (
	"maps"
	"strings"
)

// argSpelling is one argument that models and prompts read, with the
// other names plans written by models or people use for it.
type argSpelling struct {
	Name    string
	Aliases []string
}

// argSpellings are the arguments of the built-in capabilities, by
// capability: the names the local models and the OpenAI adapter's prompts
// read, and the common other spellings (HuggingGPT's target_language,
// Hugging Face's tgt_lang and candidate_labels, ...), earlier ones winning
// when a plan uses several.
var argSpellings = map[string][]argSpelling{
	"translate": {
		{Name: "target_lang", Aliases: []string{"target_language", "tgt_lang", "tgt_language", "target", "tgt",
			"to", "to_lang", "to_language", "into", "dest_lang", "destination_language", "output_language", "language", "lang"}},
		{Name: "source_lang", Aliases: []string{"source_language", "src_lang", "src_language", "source", "src",
			"from", "from_lang", "from_language", "input_language"}},
	},
	"summarize": {
		{Name: "sentences", Aliases: []string{"num_sentences", "n_sentences", "sentence_count", "max_sentences"}},
		{Name: "ratio", Aliases: []string{"compression_ratio", "fraction"}},
	},
	"keywords": {
		{Name: "count", Aliases: []string{"num_keywords", "n_keywords", "max_keywords", "top_k", "topk", "top_n", "k", "n", "num", "number", "limit"}},
	},
	"classify": {
		{Name: "labels", Aliases: []string{"candidate_labels", "categories", "classes", "label_set", "options", "choices"}},
	},
}

// Normalised returns the plan with every subtask's arguments under the
// names that models read (see NormaliseArgs). Plans are normalised where
// they are parsed and before they run; the plan given is not changed.
func (p Plan) Normalised() Plan {
	out := p
	out.Tasks = make([]Subtask, len(p.Tasks))
	for i, s := range p.Tasks {
		s.Args = NormaliseArgs(s.Capability, s.Args)
		out.Tasks[i] = s
	}
	return out
}

// NormaliseArgs renames the arguments of a built-in capability spelled
// another way (translate's target_language, to or tgt_lang become
// target_lang), matching names without regard to case or surrounding
// spaces. An argument already present under its own name wins, and
// aliases it did not take are kept as they are. It returns args itself
// when nothing changes, else a new map.
func NormaliseArgs(capability string, args map[string]string) map[string]string {
	spellings := argSpellings[capability]
	if len(spellings) == 0 || len(args) == 0 {
		return args
	}
	var out map[string]string
	for _, sp := range spellings {
		if _, ok := args[sp.Name]; ok {
			continue
		}
		key, ok := findArg(args, sp)
		if !ok {
			continue
		}
		if out == nil {
			out = maps.Clone(args)
		}
		out[sp.Name] = out[key]
		delete(out, key)
		args = out
	}
	if out == nil {
		return args
	}
	return out
}

// findArg finds the key of args that spells sp: its own name in another
// case, else its first alias present.
func findArg(args map[string]string, sp argSpelling) (string, bool) {
	byName := make(map[string]string, len(args))
	for k := range args {
		n := strings.ToLower(strings.TrimSpace(k))
		if prev, dup := byName[n]; !dup || k < prev { // the same key whatever the map's order
			byName[n] = k
		}
	}
	if k, ok := byName[sp.Name]; ok {
		return k, true
	}
	for _, a := range sp.Aliases {
		if k, ok := byName[a]; ok {
			return k, true
		}
	}
	return "", false
}
