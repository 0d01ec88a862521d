package task

import (
	"encoding/json"
	"strconv"
	"time"
)

// The encoders here write a Work or a Reply as json.Marshal does, byte
// for byte, but append to a buffer the caller reuses and write the
// fields that every message has without reflection. They are on the
// path of every dispatch and of every streamed token; fields that are
// rare or nested go through json.Marshal.

// AppendWork appends the JSON of w, as json.Marshal(w) writes it, to b.
func AppendWork(b []byte, w Work) ([]byte, error) {
	b = append(b, `{"request_id":`...)
	b = appendString(b, w.RequestID)
	b = append(b, `,"subtask_id":`...)
	b = appendString(b, w.SubtaskID)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(w.Attempt), 10)
	b = append(b, `,"model":`...)
	b = appendString(b, w.Model)
	b = append(b, `,"capability":`...)
	b = appendString(b, w.Capability)
	b = append(b, `,"input":`...)
	b = appendString(b, w.Input)
	var err error
	if len(w.Args) > 0 {
		b, err = appendMarshalled(b, `,"args":`, w.Args)
	}
	if err == nil && len(w.Context) > 0 {
		b, err = appendMarshalled(b, `,"context":`, w.Context)
	}
	if err == nil && !w.Deadline.IsZero() {
		b, err = appendTime(append(b, `,"deadline":`...), w.Deadline)
	}
	if w.Stream {
		b = append(b, `,"stream":true`...)
	}
	if err == nil && w.Sampling != nil {
		b, err = appendMarshalled(b, `,"sampling":`, w.Sampling)
	}
	if err == nil && w.Tools != nil {
		b, err = appendMarshalled(b, `,"tools":`, w.Tools)
	}
	if err == nil && len(w.After) > 0 {
		b, err = appendMarshalled(b, `,"after":`, w.After)
	}
	if err == nil && len(w.Body) > 0 {
		b, err = appendRaw(append(b, `,"body":`...), w.Body)
	}
	if w.API != "" {
		b = appendString(append(b, `,"api":`...), w.API)
	}
	if w.Traceparent != "" {
		b = appendString(append(b, `,"traceparent":`...), w.Traceparent)
	}
	if err == nil && len(w.Artifacts) > 0 {
		b, err = appendMarshalled(b, `,"artifacts":`, w.Artifacts)
	}
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// AppendReply appends the JSON of r, as json.Marshal(r) writes it, to b.
func AppendReply(b []byte, r Reply) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = appendString(b, string(r.Type))
	if r.Executor != "" {
		b = appendString(append(b, `,"executor":`...), r.Executor)
	}
	if r.Delta != "" {
		b = appendString(append(b, `,"delta":`...), r.Delta)
	}
	var err error
	if len(r.Chunk) > 0 {
		b, err = appendRaw(append(b, `,"chunk":`...), r.Chunk)
	}
	if err == nil && r.Progress != nil {
		b, err = appendMarshalled(b, `,"progress":`, r.Progress)
	}
	if err == nil && r.Output != nil {
		b, err = appendOutput(append(b, `,"output":`...), r.Output)
	}
	if err == nil && r.Error != nil {
		b, err = appendMarshalled(b, `,"error":`, r.Error)
	}
	if err != nil {
		return b, err
	}
	if r.ElapsedUs != 0 {
		b = strconv.AppendInt(append(b, `,"elapsed_us":`...), r.ElapsedUs, 10)
	}
	return append(b, '}'), nil
}

// appendOutput appends out as json.Marshal writes it. The body, an
// upstream's whole answer, is appended as it came when it is compact.
func appendOutput(b []byte, out *Output) ([]byte, error) {
	b = appendString(append(b, `{"text":`...), out.Text)
	if out.Format != "" {
		b = appendString(append(b, `,"format":`...), out.Format)
	}
	var err error
	if out.Usage != (Usage{}) {
		b, err = appendMarshalled(b, `,"usage":`, out.Usage)
	}
	if err == nil && len(out.ToolCalls) > 0 {
		b, err = appendRaw(append(b, `,"tool_calls":`...), out.ToolCalls)
	}
	if out.FinishReason != "" {
		b = appendString(append(b, `,"finish_reason":`...), out.FinishReason)
	}
	if err == nil && len(out.Body) > 0 {
		b, err = appendRaw(append(b, `,"body":`...), out.Body)
	}
	if err == nil && len(out.Artifacts) > 0 {
		b, err = appendMarshalled(b, `,"artifacts":`, out.Artifacts)
	}
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// appendMarshalled appends key and then v as json.Marshal writes it.
func appendMarshalled(b []byte, key string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(append(b, key...), data...), nil
}

// appendTime appends t as json.Marshal writes a time.Time; a time that
// RFC 3339 cannot hold is json.Marshal's error.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return appendMarshalled(b, "", t)
	}
	return append(out, '"'), nil
}

// appendRaw appends raw JSON as json.Marshal writes a json.RawMessage:
// checked, compacted, with <, >, & and U+2028, U+2029 escaped. Raw JSON
// with nothing to compact or escape (the common case: one upstream
// chunk, compact already) is appended as it is, once it is checked.
func appendRaw(b []byte, raw []byte) ([]byte, error) {
	if !plainJSON(raw) || !json.Valid(raw) {
		return appendMarshalled(b, "", json.RawMessage(raw))
	}
	return append(b, raw...), nil
}

// plainJSON reports whether raw holds no byte that json.Marshal would
// change in valid JSON: no white space outside strings, nothing that
// HTML escaping rewrites, no U+2028 or U+2029 (whose UTF-8 starts 0xE2).
func plainJSON(raw []byte) bool {
	in, esc := false, false
	for _, c := range raw {
		switch {
		case c == '<' || c == '>' || c == '&' || c == 0xE2:
			return false
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes it (<, > and & too, invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // cannot fail for a string
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
