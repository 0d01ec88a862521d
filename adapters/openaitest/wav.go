package openaitest

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math"
	"strings"
	"time"
)

// SpeechRate is the sample rate of the WAV files the server speaks.
const SpeechRate = 16000

// wordLength is how long the server speaks each word.
const wordLength = 120 * time.Millisecond

// Speech is the WAV file the server's speech answers hold for a text:
// 16-bit mono PCM at SpeechRate, one tone per word (its pitch a hash of
// the word), with the text itself in the file's LIST/INFO comment
// (ICMT), so that the server's transcriptions hear it back.
func Speech(text string) []byte {
	words := strings.Fields(text)
	perWord := int(SpeechRate * wordLength / time.Second)
	samples := make([]byte, 0, 2*perWord*max(len(words), 1))
	for _, w := range words {
		h := fnv.New32a()
		_, _ = h.Write([]byte(w))
		freq := 200 + float64(h.Sum32()%600)
		for i := range perWord {
			// A short fade at both ends keeps the words from clicking.
			env := math.Min(1, math.Min(float64(i), float64(perWord-i))/160)
			v := int16(env * 12000 * math.Sin(2*math.Pi*freq*float64(i)/SpeechRate))
			samples = binary.LittleEndian.AppendUint16(samples, uint16(v))
		}
	}
	comment := append([]byte(text), 0)
	if len(comment)%2 == 1 {
		comment = append(comment, 0)
	}
	info := append([]byte("INFOICMT"), le32(len(comment))...)
	info = append(info, comment...)
	var b []byte
	b = append(b, "RIFF"...)
	b = append(b, le32(4+8+16+8+len(info)+8+len(samples))...)
	b = append(b, "WAVEfmt "...)
	b = append(b, le32(16)...)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, 1) // mono
	b = append(b, le32(SpeechRate)...)
	b = append(b, le32(SpeechRate*2)...)
	b = binary.LittleEndian.AppendUint16(b, 2)  // block align
	b = binary.LittleEndian.AppendUint16(b, 16) // bits per sample
	b = append(b, "LIST"...)
	b = append(b, le32(len(info))...)
	b = append(b, info...)
	b = append(b, "data"...)
	b = append(b, le32(len(samples))...)
	return append(b, samples...)
}

func le32(n int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(n)) }

// WAV is what ReadWAV finds in a WAV file.
type WAV struct {
	SampleRate int
	Channels   int
	Bits       int
	Duration   time.Duration
	// Comment is the LIST/INFO ICMT text, where Speech puts what it says.
	Comment string
	// DataBytes is the length of the data chunk, the samples.
	DataBytes int
}

// errNotWAV is data that is not a RIFF WAVE file with PCM samples.
var errNotWAV = errors.New("not a WAV file: no RIFF/WAVE header with fmt and data chunks")

// ReadWAV reads a WAV file's format, duration and comment.
func ReadWAV(data []byte) (WAV, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return WAV{}, errNotWAV
	}
	var w WAV
	blockAlign, dataLen := 0, -1
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(binary.LittleEndian.Uint32(data[p+4:]))
		body := data[p+8:]
		if size < 0 || size > len(body) {
			size = len(body) // a truncated last chunk: read what is there
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return WAV{}, errNotWAV
			}
			w.Channels = int(binary.LittleEndian.Uint16(body[2:]))
			w.SampleRate = int(binary.LittleEndian.Uint32(body[4:]))
			blockAlign = int(binary.LittleEndian.Uint16(body[12:]))
			w.Bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "LIST":
			w.Comment = infoComment(body)
		case "data":
			dataLen = size
		}
		p += 8 + size + size%2
	}
	if blockAlign <= 0 || w.SampleRate <= 0 || dataLen < 0 {
		return WAV{}, errNotWAV
	}
	w.DataBytes = dataLen
	w.Duration = time.Duration(dataLen/blockAlign) * time.Second / time.Duration(w.SampleRate)
	return w, nil
}

// infoComment returns the ICMT text of a LIST chunk of type INFO.
func infoComment(list []byte) string {
	if len(list) < 4 || string(list[:4]) != "INFO" {
		return ""
	}
	for p := 4; p+8 <= len(list); {
		id, size := string(list[p:p+4]), int(binary.LittleEndian.Uint32(list[p+4:]))
		if size < 0 || size > len(list)-p-8 {
			return ""
		}
		if id == "ICMT" {
			return strings.TrimRight(string(list[p+8:p+8+size]), "\x00")
		}
		p += 8 + size + size%2
	}
	return ""
}
