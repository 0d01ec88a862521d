package localmodel

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/taskrouter/taskrouter/task"
)

// AudioInfo is local/audioinfo: the duration, sample rate, channels and
// loudness of each WAV recording its work reads. It reads the samples as
// they stream from the store.
type AudioInfo struct{}

var _ Model = AudioInfo{}

// audioInfo is the JSON answer for one recording.
type audioInfo struct {
	Name            string  `json:"name,omitempty"`
	Format          string  `json:"format"`
	DurationSeconds float64 `json:"duration_seconds"`
	SampleRate      int     `json:"sample_rate"`
	Channels        int     `json:"channels"`
	BitsPerSample   int     `json:"bits_per_sample"`
	RMSdBFS         float64 `json:"rms_dbfs"`
	PeakdBFS        float64 `json:"peak_dbfs"`
}

// Generate refuses work without the artifact store.
func (AudioInfo) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{}, task.Errorf(task.CodeBadInput, "local/audioinfo reads recordings from the artifact store: send it work whose artifacts list one")
}

// GenerateArtifacts describes every recording the work reads.
func (AudioInfo) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, _ func(string)) (task.Output, error) {
	var infos []audioInfo
	for _, a := range w.Artifacts {
		if a.Kind() != task.TypeAudio {
			continue
		}
		rc, ref, err := store.Open(ctx, a.ID)
		if err != nil {
			return task.Output{}, err
		}
		info, err := readWAV(ctx, bufio.NewReaderSize(rc, 64<<10))
		rc.Close()
		if err != nil {
			return task.Output{}, task.Errorf(task.CodeBadInput, "recording %s: %v", describe(ref), err)
		}
		info.Name = a.Name
		infos = append(infos, info)
	}
	switch len(infos) {
	case 0:
		return task.Output{}, task.Errorf(task.CodeBadInput, "the subtask reads no recording: attach a WAV file and refer to it as {{a1}}")
	case 1:
		return jsonOutput(w.Input, infos[0])
	}
	return jsonOutput(w.Input, map[string]any{"recordings": infos})
}

// wavFormat is a WAV file's fmt chunk, as far as it is read.
type wavFormat struct {
	tag, channels, bits int
	rate, blockAlign    int
}

// readWAV reads a RIFF WAVE stream: its fmt chunk, then the samples of
// its data chunk, for their loudness. PCM of 8, 16, 24 or 32 bits and
// 32-bit float are read.
func readWAV(ctx context.Context, r io.Reader) (audioInfo, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WAVE" {
		return audioInfo{}, errors.New("it is not a WAV file (RIFF WAVE); local/audioinfo reads WAV only")
	}
	var f *wavFormat
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return audioInfo{}, errors.New("the WAV file ends before its data chunk")
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch string(ch[:4]) {
		case "fmt ":
			fm, err := readFmt(r, size)
			if err != nil {
				return audioInfo{}, err
			}
			f = &fm
		case "data":
			if f == nil {
				return audioInfo{}, errors.New("the WAV file has no fmt chunk before its data")
			}
			return loudness(ctx, r, size, *f)
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return audioInfo{}, errors.New("the WAV file ends inside a chunk")
			}
		}
	}
}

func readFmt(r io.Reader, size int64) (wavFormat, error) {
	if size < 16 || size > 1<<10 {
		return wavFormat{}, fmt.Errorf("its fmt chunk is %d bytes, not 16 to 1024", size)
	}
	b := make([]byte, size+size%2)
	if _, err := io.ReadFull(r, b); err != nil {
		return wavFormat{}, errors.New("the WAV file ends inside its fmt chunk")
	}
	le := binary.LittleEndian
	f := wavFormat{tag: int(le.Uint16(b)), channels: int(le.Uint16(b[2:])), rate: int(le.Uint32(b[4:])),
		blockAlign: int(le.Uint16(b[12:])), bits: int(le.Uint16(b[14:]))}
	if f.tag == 0xFFFE && size >= 26 {
		f.tag = int(le.Uint16(b[24:])) // WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
	}
	switch {
	case f.channels < 1 || f.rate < 1 || f.blockAlign < 1:
		return f, errors.New("its fmt chunk gives no channels, sample rate or block size")
	case f.tag == 1 && (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32), f.tag == 3 && f.bits == 32:
	default:
		return f, fmt.Errorf("its samples are of format %d with %d bits; local/audioinfo reads PCM (8, 16, 24, 32 bits) and 32-bit float", f.tag, f.bits)
	}
	if f.blockAlign != f.channels*f.bits/8 {
		return f, fmt.Errorf("its block size %d does not fit %d channels of %d bits", f.blockAlign, f.channels, f.bits)
	}
	return f, nil
}

// loudness reads the data chunk's samples and measures them.
func loudness(ctx context.Context, r io.Reader, size int64, f wavFormat) (audioInfo, error) {
	buf := make([]byte, f.blockAlign*4096)
	var sum, peak float64
	var n, read int64
	width := f.bits / 8
	for read < size {
		if err := stopped(ctx, "reading the recording"); err != nil {
			return audioInfo{}, err
		}
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-read)])
		k -= k % width
		for i := 0; i < k; i += width {
			v := sample(buf[i:i+width], f)
			sum += v * v
			peak = max(peak, math.Abs(v))
			n++
		}
		read += int64(k)
		if err != nil {
			break // a data chunk cut short: measure what there is
		}
	}
	info := audioInfo{Format: "wav", SampleRate: f.rate, Channels: f.channels, BitsPerSample: f.bits,
		DurationSeconds: math.Round(float64(read)/float64(f.blockAlign)/float64(f.rate)*1000) / 1000}
	info.RMSdBFS, info.PeakdBFS = dBFS(math.Sqrt(sum/math.Max(float64(n), 1))), dBFS(peak)
	return info, nil
}

// sample reads one sample as a fraction of full scale.
func sample(b []byte, f wavFormat) float64 {
	le := binary.LittleEndian
	switch {
	case f.tag == 3:
		v := float64(math.Float32frombits(le.Uint32(b)))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return v
	case f.bits == 8:
		return (float64(b[0]) - 128) / 128
	case f.bits == 16:
		return float64(int16(le.Uint16(b))) / (1 << 15)
	case f.bits == 24:
		return float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)>>8) / (1 << 23)
	}
	return float64(int32(le.Uint32(b))) / (1 << 31)
}

// dBFS is a level in decibels relative to full scale, rounded to a tenth;
// silence is -120.
func dBFS(v float64) float64 {
	if v <= 1e-6 {
		return -120
	}
	return math.Round(20*math.Log10(v)*10) / 10
}
