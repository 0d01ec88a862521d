package openaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// transcriptions answers POST /v1/audio/transcriptions, multipart with the
// recording as "file": the scripted Reply (or ReplyFunc's answer to the
// prompt field) when set, else what a Speech file says, in the
// response_format asked for: json (the default), text, verbose_json, srt
// or vtt.
func (s *Server) transcriptions(w http.ResponseWriter, r *http.Request) {
	form, m, ok := s.admitForm(w, r)
	if !ok {
		return
	}
	n := m.calls.Add(1)
	fields := formFields(form)
	files := form.File["file"]
	var audio []byte
	if len(files) > 0 {
		var err error
		if audio, err = readPart(files[0]); err != nil {
			writeAPIError(w, apiError{status: http.StatusBadRequest, message: "Could not read the file: " + err.Error(), typ: "invalid_request_error", param: "file"})
			return
		}
		fields["filename"] = files[0].Filename
	}
	m.remember(Record{Path: PathTranscriptions, Model: fields["model"], Authorization: r.Header.Get("Authorization"), Header: r.Header,
		Prompt: fields["prompt"], Audio: audio, Form: fields})
	if !s.admitScripted(w, r, m.script, n) {
		return
	}
	if len(files) == 0 {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'file' is a required property: send the recording as a file part.", typ: "invalid_request_error", param: "file"})
		return
	}
	text, wav, e := m.script.transcript(audio, fields["prompt"])
	if e != nil {
		writeAPIError(w, *e)
		return
	}
	writeTranscript(w, text, wav, fields["response_format"], fields["language"])
}

// transcript is what the server hears in a recording.
func (sc *script) transcript(audio []byte, prompt string) (string, WAV, *apiError) {
	wav, err := ReadWAV(audio)
	switch {
	case sc.b.Reply != "" || sc.b.ReplyFunc != nil:
		return strings.Join(sc.reply([]task.Message{{Role: "user", Content: prompt}}), ""), wav, nil
	case err != nil:
		return "", wav, &apiError{status: http.StatusBadRequest, message: "Invalid file format: the scripted server hears WAV files only (" + err.Error() + ").",
			typ: "invalid_request_error", param: "file"}
	}
	return wav.Comment, wav, nil
}

func writeTranscript(w http.ResponseWriter, text string, wav WAV, format, lang string) {
	secs := wav.Duration.Seconds()
	switch format {
	case "", "json":
		body, _ := json.Marshal(map[string]any{"text": text, "usage": map[string]any{"type": "duration", "seconds": int(secs + 0.999)}})
		writeJSON(w, http.StatusOK, body)
	case "verbose_json":
		if lang == "" {
			lang = "english"
		}
		body, _ := json.Marshal(map[string]any{"task": "transcribe", "language": lang, "duration": secs, "text": text,
			"segments": []map[string]any{{"id": 0, "seek": 0, "start": 0.0, "end": secs, "text": text}}})
		writeJSON(w, http.StatusOK, body)
	case "text":
		writeText(w, "text/plain; charset=utf-8", text+"\n")
	case "srt":
		writeText(w, "text/plain; charset=utf-8", fmt.Sprintf("1\n00:00:00,000 --> %s\n%s\n\n", timestamp(secs, ","), text))
	case "vtt":
		writeText(w, "text/vtt; charset=utf-8", fmt.Sprintf("WEBVTT\n\n00:00:00.000 --> %s\n%s\n\n", timestamp(secs, "."), text))
	default:
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: fmt.Sprintf("Invalid value %q for 'response_format': use json, text, srt, verbose_json or vtt.", format),
			typ: "invalid_request_error", param: "response_format"})
	}
}

func timestamp(secs float64, sep string) string {
	ms := int(secs * 1000)
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}

func writeText(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// speechRequest is the part of a speech request the server reads.
type speechRequest struct {
	Model          string  `json:"model"`
	Input          string  `json:"input"`
	Voice          string  `json:"voice"`
	ResponseFormat string  `json:"response_format"`
	Speed          float64 `json:"speed"`
}

// speech answers POST /v1/audio/speech with the binary audio of the input
// (see Speech): a WAV file for response_format wav, its bare samples for
// pcm. The server encodes no compressed formats, so it answers mp3 (the
// API's default), opus, aac and flac with 400.
func (s *Server) speech(w http.ResponseWriter, r *http.Request) {
	var sr speechRequest
	body, m, ok := s.admit(w, r, &sr, func() string { return sr.Model })
	if !ok {
		return
	}
	n := m.calls.Add(1)
	m.remember(Record{Path: PathSpeech, Model: sr.Model, Authorization: r.Header.Get("Authorization"), Header: r.Header, Body: body,
		Input: []string{sr.Input}, Form: map[string]string{"voice": sr.Voice, "response_format": sr.ResponseFormat}})
	if !s.admitScripted(w, r, m.script, n) {
		return
	}
	switch {
	case strings.TrimSpace(sr.Input) == "":
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'input' is a required property and must not be empty.", typ: "invalid_request_error", param: "input"})
		return
	case sr.Voice == "":
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'voice' is a required property, such as alloy.", typ: "invalid_request_error", param: "voice"})
		return
	}
	wav := Speech(sr.Input)
	switch sr.ResponseFormat {
	case "wav":
		writeAudio(w, "audio/wav", wav)
	case "pcm":
		writeAudio(w, "audio/pcm", wav[len(wav)-pcmLength(wav):])
	default:
		format := sr.ResponseFormat
		if format == "" {
			format = "mp3 (the default)"
		}
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "The scripted server speaks wav and pcm only, not " + format + ".",
			typ: "invalid_request_error", param: "response_format"})
	}
}

// pcmLength is the length of a Speech file's data chunk, its last.
func pcmLength(wav []byte) int {
	info, _ := ReadWAV(wav)
	return info.DataBytes
}

func writeAudio(w http.ResponseWriter, contentType string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}
