package task

import (
	"fmt"
	"slices"
	"strings"
)

// CheckTypes checks the types along every edge of a plan that carries
// data: each {{ref}} of a subtask to another subtask's output or to an
// attachment must give it something its capability reads. Text never
// becomes binary data, and binary data never reaches a step that reads
// text only: a translation of a generated image needs a step in between
// that turns the image into text (caption, ocr, vqa). A step that reads
// binary data only must refer to some. attachments are the request's,
// in order ({{a1}} is the first). Capabilities the catalog lacks are
// Validate's to report; a nil catalog checks nothing. The error is a
// *Error with CodeInvalidPlan that names the edge, both types and the
// capabilities that could go in between.
func (p Plan) CheckTypes(cat *Catalog, attachments []ArtifactRef) error {
	if cat == nil {
		return nil
	}
	index := make(map[string]int, len(p.Tasks))
	for i, s := range p.Tasks {
		index[s.ID] = i
	}
	for _, s := range p.Tasks {
		c, ok := cat.Get(s.Capability)
		if !ok {
			continue
		}
		if err := p.checkStepTypes(cat, c, s, index, attachments); err != nil {
			return err
		}
	}
	return nil
}

func (p Plan) checkStepTypes(cat *Catalog, c Capability, s Subtask, index map[string]int, attachments []ArtifactRef) error {
	binary := 0
	for _, r := range s.References() {
		if j, isTask := index[r]; isTask {
			from, ok := cat.Get(p.Tasks[j].Capability)
			if !ok {
				continue
			}
			typ, ok := acceptedOutput(from.Outputs, c.Inputs)
			if !ok {
				return edgeErr(cat, s, c, fmt.Sprintf("{{%s}}, the output of subtask %q (%s, which produces %s)", r, r, from.Name, joinTypes(from.Outputs)), from.Outputs)
			}
			if IsBinaryType(typ) {
				binary++
			}
			continue
		}
		i := attachmentIndex(r)
		if i >= len(attachments) {
			return planErr(s.ID, "subtask %q refers to {{%s}}, but the request has %d attachments; attach the data, or refer to {{a1}} to {{a%d}}",
				s.ID, r, len(attachments), len(attachments))
		}
		a := attachments[i]
		if !accepts(c.Inputs, a.Kind()) {
			return edgeErr(cat, s, c, fmt.Sprintf("{{%s}}, the %s attachment %s", r, a.Kind(), a.String()), []string{a.Kind()})
		}
		binary++
	}
	if binaryIn := binaryTypes(c.Inputs); binary == 0 && len(binaryIn) > 0 {
		return planErr(s.ID, "subtask %q (%s) reads %s, but its input refers to no %s: text never becomes %s; attach it and refer to it as {{a1}}, or refer to a step that produces it",
			s.ID, c.Name, joinTypes(c.Inputs), joinTypes(binaryIn), joinTypes(binaryIn))
	}
	return nil
}

// edgeErr says that step s, of capability c, cannot read what source
// gives, of types from, and which capabilities could go in between.
func edgeErr(cat *Catalog, s Subtask, c Capability, source string, from []string) *Error {
	msg := fmt.Sprintf("subtask %q (%s, which reads %s) refers to %s: %s cannot read %s",
		s.ID, c.Name, joinTypes(c.Inputs), source, c.Name, joinTypes(from))
	if via := converters(cat, from, c.Inputs); len(via) > 0 {
		msg += fmt.Sprintf("; put a step in between that turns %s into %s, such as %s", joinTypes(from), joinTypes(c.Inputs), joinOr(via))
	} else {
		msg += "; the catalog has no capability that turns one into the other"
	}
	return planErr(s.ID, "%s", msg)
}

// converters returns the capabilities that read one of the types from and
// produce something a step reading inputs accepts, at most four.
func converters(cat *Catalog, from, inputs []string) []string {
	var out []string
	for _, c := range cat.Plannable() {
		reads := slices.ContainsFunc(from, func(t string) bool { return accepts(c.Inputs, t) })
		if _, ok := acceptedOutput(c.Outputs, inputs); reads && ok && len(out) < 4 {
			out = append(out, c.Name)
		}
	}
	return out
}

// acceptedOutput returns the first of a step's output types that a step
// reading inputs accepts.
func acceptedOutput(outputs, inputs []string) (string, bool) {
	for _, o := range outputs {
		if accepts(inputs, o) {
			return o, true
		}
	}
	return "", false
}

// accepts reports whether a step reading inputs accepts data of type typ.
// Binary data goes only to a step that reads its type, or files (which
// takes any); text, JSON, numbers, URLs and vectors all read as text.
func accepts(inputs []string, typ string) bool {
	if IsBinaryType(typ) {
		return slices.Contains(inputs, typ) || slices.Contains(inputs, TypeFile)
	}
	return slices.ContainsFunc(inputs, isTextual)
}

// binaryTypes returns the binary types among types.
func binaryTypes(types []string) []string {
	var out []string
	for _, t := range types {
		if IsBinaryType(t) {
			out = append(out, t)
		}
	}
	return out
}

// isTextual reports whether a type is read as text.
func isTextual(typ string) bool { return !IsBinaryType(typ) }

func joinTypes(types []string) string {
	if len(types) == 0 {
		return "nothing"
	}
	return strings.Join(types, " and ")
}

func joinOr(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
