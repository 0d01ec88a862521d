package openaitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
)

func client(s *Server) *goopenai.Client {
	cfg := goopenai.DefaultConfig("")
	cfg.BaseURL = s.URL()
	return goopenai.NewClientWithConfig(cfg)
}

// Generated images are real PNGs in both response formats, of the size
// asked for, and show what the prompt names.
func TestImageGenerations(t *testing.T) {
	s := New(WithDefault(Behaviour{}))
	defer s.Close()
	ctx := context.Background()
	resp, err := client(s).CreateImage(ctx, goopenai.ImageRequest{Model: "dall-e-3", Prompt: "a red fox in the snow", Size: "96x64", ResponseFormat: goopenai.CreateImageResponseFormatB64JSON})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(resp.Data[0].B64JSON)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil || cfg.Width != 96 || cfg.Height != 64 {
		t.Fatalf("decoded %+v, %v; want a 96x64 PNG", cfg, err)
	}
	if d, _ := Describe(raw); d != "A 96x64 PNG picture: a red shape in the middle of a white background." {
		t.Fatalf("described as %q", d)
	}
	resp, err = client(s).CreateImage(ctx, goopenai.ImageRequest{Model: "dall-e-3", Prompt: "a yellow sun over the sea", ResponseFormat: goopenai.CreateImageResponseFormatURL})
	if err != nil || resp.Data[0].URL == "" || resp.Data[0].B64JSON != "" {
		t.Fatalf("url answer %+v, %v", resp, err)
	}
	got, err := http.Get(resp.Data[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	pic, _ := io.ReadAll(got.Body)
	if d, _ := Describe(pic); got.Header.Get("Content-Type") != "image/png" || d != "A 64x64 PNG picture: a yellow shape in the middle of a blue background." {
		t.Fatalf("fetched %s described as %q", got.Header.Get("Content-Type"), d)
	}
	if _, err := client(s).CreateImage(ctx, goopenai.ImageRequest{Model: "m", Prompt: "x", Size: "huge"}); err == nil || !strings.Contains(err.Error(), "Invalid size") {
		t.Fatalf("bad size: %v", err)
	}
}

// An edit is multipart; the server inverts the image it gets.
func TestImageEdits(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("gpt-image-1", Behaviour{})
	pic := Picture("a red fox in the snow", 32, 32)
	resp, err := client(s).CreateEditImage(context.Background(), goopenai.ImageEditRequest{Model: "gpt-image-1",
		Image: goopenai.WrapReader(bytes.NewReader(pic), "fox.png", "image/png"), Prompt: "invert it", ResponseFormat: goopenai.CreateImageResponseFormatB64JSON})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(resp.Data[0].B64JSON)
	if d, _ := Describe(raw); !strings.Contains(d, "black background") {
		t.Fatalf("edited image described as %q", d)
	}
	rec, _ := s.Last("gpt-image-1")
	if rec.Path != PathImageEdits || rec.Prompt != "invert it" || len(rec.Images) != 1 || !bytes.Equal(rec.Images[0].Data, pic) {
		t.Fatalf("recorded %+v", rec)
	}
}

// Speech is a real WAV file whose text the transcriptions hear back, in
// every response format.
func TestSpeechAndTranscriptions(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("tts-1", Behaviour{})
	s.Script("whisper-1", Behaviour{})
	ctx := context.Background()
	text := "Un renard roux dans la neige."
	raw, err := client(s).CreateSpeech(ctx, goopenai.CreateSpeechRequest{Model: "tts-1", Input: text, Voice: goopenai.VoiceAlloy, ResponseFormat: goopenai.SpeechResponseFormatWav})
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(raw)
	raw.Close()
	info, err := ReadWAV(wav)
	if err != nil || info.SampleRate != SpeechRate || info.Channels != 1 || info.Bits != 16 || info.Duration != 6*wordLength || info.Comment != text {
		t.Fatalf("WAV %+v, %v", info, err)
	}
	if ct := raw.Header().Get("Content-Type"); ct != "audio/wav" {
		t.Fatalf("content type %q", ct)
	}
	for _, format := range []goopenai.AudioResponseFormat{"", goopenai.AudioResponseFormatText, goopenai.AudioResponseFormatVerboseJSON, goopenai.AudioResponseFormatSRT} {
		tr, err := client(s).CreateTranscription(ctx, goopenai.AudioRequest{Model: "whisper-1", FilePath: "speech.wav", Reader: bytes.NewReader(wav), Format: format})
		if err != nil || !strings.Contains(tr.Text, text) {
			t.Fatalf("format %q: %q, %v", format, tr.Text, err)
		}
	}
	rec, _ := s.Last("whisper-1")
	if rec.Path != PathTranscriptions || !bytes.Equal(rec.Audio, wav) || rec.Form["filename"] != "speech.wav" || rec.Form["response_format"] != "srt" {
		t.Fatalf("recorded %s %q %v", rec.Path, rec.Form, len(rec.Audio))
	}
	_, err = client(s).CreateSpeech(ctx, goopenai.CreateSpeechRequest{Model: "tts-1", Input: text, Voice: goopenai.VoiceAlloy})
	if err == nil || !strings.Contains(err.Error(), "mp3") {
		t.Fatalf("mp3: %v", err)
	}
	if _, err = client(s).CreateTranscription(ctx, goopenai.AudioRequest{Model: "whisper-1", FilePath: "x.mp3", Reader: strings.NewReader("ID3...")}); err == nil {
		t.Fatal("a file that is not WAV was transcribed")
	}
}

// A chat request with an image part is answered with what the image shows.
func TestChatSeesImageParts(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("gpt-4o", Behaviour{})
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(Picture("green grass under a blue sky", 40, 30))
	resp, err := client(s).CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{Model: "gpt-4o", Messages: []goopenai.ChatCompletionMessage{
		{Role: "user", MultiContent: []goopenai.ChatMessagePart{{Type: goopenai.ChatMessagePartTypeText, Text: "Describe this picture"},
			{Type: goopenai.ChatMessagePartTypeImageURL, ImageURL: &goopenai.ChatMessageImageURL{URL: uri}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "A 40x30 PNG picture: a green shape in the middle of a blue background." {
		t.Fatalf("answer %q", got)
	}
	rec, _ := s.Last("gpt-4o")
	if len(rec.Images) != 1 || rec.Images[0].MIME != "image/png" || rec.Messages[0].Content != "Describe this picture" {
		t.Fatalf("recorded %+v", rec)
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(Speech("hello world"))
	f.Add([]byte("RIFF\x04\x00\x00\x00WAVE"))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ReadWAV(data)
		if err == nil && (w.SampleRate <= 0 || w.Duration < 0 || time.Duration(w.DataBytes) < 0) {
			t.Fatalf("accepted %+v", w)
		}
	})
}
