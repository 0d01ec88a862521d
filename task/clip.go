package task

import (
	"maps"
	"unicode/utf8"
)

// MaxEventText bounds each text an event carries (an input, an output,
// every input of a plan), so that an event stays far below a NATS
// server's max_payload whatever the size of the request.
const MaxEventText = 16 << 10

// ClipText returns s cut to at most max bytes, at the start of a UTF-8
// character, and whether it was cut.
func ClipText(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	if max < 0 {
		max = 0
	}
	i := max
	for i > 0 && i > max-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], true
}

// Clipped returns a copy of the plan whose subtask inputs and argument
// values are cut to max bytes each, and whether any was; p is unchanged.
func (p Plan) Clipped(max int) (Plan, bool) {
	if !p.longerThan(max) {
		return p, false
	}
	clipped := false
	out := p
	out.Tasks = make([]Subtask, len(p.Tasks))
	for i, s := range p.Tasks {
		var cut bool
		s.Input, cut = ClipText(s.Input, max)
		clipped = clipped || cut
		cloned := false
		for k, v := range p.Tasks[i].Args {
			if len(v) <= max {
				continue
			}
			if !cloned {
				s.Args, cloned = maps.Clone(s.Args), true
			}
			s.Args[k], _ = ClipText(v, max)
			clipped = true
		}
		out.Tasks[i] = s
	}
	return out, clipped
}

// longerThan reports whether any input or argument of p is longer than max.
func (p Plan) longerThan(max int) bool {
	for _, s := range p.Tasks {
		if len(s.Input) > max {
			return true
		}
		for _, v := range s.Args {
			if len(v) > max {
				return true
			}
		}
	}
	return false
}
