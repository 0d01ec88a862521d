package localmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/artifacts/artifactstest"
	"github.com/taskrouter/taskrouter/task"
)

func mediaStore(t *testing.T) *artifacts.Store {
	t.Helper()
	return artifactstest.Store(t, artifacts.Config{})
}

// testImage is w×h: its left three quarters red, the rest blue.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{R: 220, G: 20, B: 20, A: 255}
			if x >= w*3/4 {
				c = color.RGBA{R: 10, G: 30, B: 200, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func put(t *testing.T, s *artifacts.Store, name, mime string, data []byte) task.ArtifactRef {
	t.Helper()
	ref, err := s.Put(context.Background(), task.ArtifactRef{Name: name, MIME: mime}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ref.Ref = "a1"
	return ref
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation puts an EXIF block with the given orientation after a
// JPEG's start marker, as cameras write it.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00")
	binary.BigEndian.PutUint16(tiff[18:], o)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{0xFF, 0xD8}, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestImageInfo(t *testing.T) {
	s := mediaStore(t)
	a := put(t, s, "photo.png", "image/png", encodePNG(t, testImage(640, 480)))
	out, err := ImageInfo{}.GenerateArtifacts(context.Background(), task.Work{Input: "[image a1]", Artifacts: []task.ArtifactRef{a}}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var info imageInfo
	if err := json.Unmarshal([]byte(out.Text), &info); err != nil || out.Format != "json" {
		t.Fatalf("answer %q: %v", out.Text, err)
	}
	if info.Format != "png" || info.Width != 640 || info.Height != 480 || info.ColourModel != "RGBA" || info.Orientation != "normal" ||
		info.Bytes != a.Size || len(info.DominantColours) != 2 || info.DominantColours[0] != "#dc1414 (75%)" || info.DominantColours[1] != "#0a1ec8 (25%)" {
		t.Fatalf("info = %+v", info)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, testImage(40, 30), nil); err != nil {
		t.Fatal(err)
	}
	j := put(t, s, "cam.jpg", "image/jpeg", withOrientation(jb.Bytes(), 6))
	out, err = ImageInfo{}.GenerateArtifacts(context.Background(), task.Work{Artifacts: []task.ArtifactRef{j}}, s, nil)
	if err != nil || !strings.Contains(out.Text, `"orientation":"rotated 90° clockwise"`) || !strings.Contains(out.Text, `"format":"jpeg"`) ||
		!strings.Contains(out.Text, `"colour_model":"YCbCr 420"`) {
		t.Fatalf("jpeg: %s, %v", out.Text, err)
	}
}

func TestImageOpsGrayscaleAndWidth(t *testing.T) {
	s := mediaStore(t)
	a := put(t, s, "photo.png", "image/png", encodePNG(t, testImage(640, 480)))
	out, err := ImageOps{}.GenerateArtifacts(context.Background(),
		task.Work{Input: "[image a1] make it grayscale and 128 px wide", Artifacts: []task.ArtifactRef{a}}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Artifacts) != 1 || out.Artifacts[0].MIME != "image/png" || out.Artifacts[0].Name != "photo-edited.png" {
		t.Fatalf("output = %+v", out)
	}
	img := fetchImage(t, s, out.Artifacts[0].ID)
	if _, gray := img.(*image.Gray); !gray || img.Bounds().Dx() != 128 || img.Bounds().Dy() != 96 {
		t.Fatalf("the edited image is a %T of %v", img, img.Bounds())
	}
	if !strings.Contains(out.Text, "resized to 128×96") || !strings.Contains(out.Text, "grayscale") || !strings.Contains(out.Text, out.Artifacts[0].ID) {
		t.Fatalf("text = %q", out.Text)
	}
	out, err = ImageOps{}.GenerateArtifacts(context.Background(),
		task.Work{Input: "rotate it 90 degrees and convert to JPEG", Artifacts: []task.ArtifactRef{a}}, s, nil)
	if err != nil || out.Artifacts[0].MIME != "image/jpeg" || out.Artifacts[0].Name != "photo-edited.jpg" {
		t.Fatalf("rotate: %+v, %v", out, err)
	}
	if img := fetchImage(t, s, out.Artifacts[0].ID); img.Bounds().Dx() != 480 || img.Bounds().Dy() != 640 {
		t.Fatalf("rotated image is %v", img.Bounds())
	}
	if _, err := (ImageOps{}).GenerateArtifacts(context.Background(), task.Work{Input: "make it nicer", Artifacts: []task.ArtifactRef{a}}, s, nil); task.AsError(err).Code != task.CodeBadInput {
		t.Fatalf("an edit without a known operation = %v", err)
	}
}

func fetchImage(t *testing.T, s *artifacts.Store, id string) image.Image {
	t.Helper()
	var b bytes.Buffer
	if _, err := s.WriteTo(context.Background(), id, &b); err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestParseImageOps(t *testing.T) {
	for _, c := range []struct {
		text string
		want imageOps
	}{
		{"make it grayscale and 256 px wide", imageOps{width: 256, gray: true}},
		{"Resize this image to 800x600", imageOps{width: 800, height: 600}},
		{"scale it to 50%", imageOps{scale: 0.5}},
		{"rotate the photo 90 degrees counterclockwise", imageOps{rotate: 270}},
		{"flip the image vertically", imageOps{flipV: true}},
		{"mirror it", imageOps{flipH: true}},
		{"crop the picture to a square and convert it to a PNG", imageOps{square: true, format: "png"}},
		{"make it 300 pixels tall", imageOps{height: 300}},
		{"resize to 1024 px", imageOps{width: -1024}},
		{"把图片转成黑白，宽 256 像素", imageOps{width: 256, gray: true}},
		{"把照片旋转90度", imageOps{rotate: 90}},
	} {
		got, ok, err := parseImageOps(c.text)
		if !ok || err != nil || got != c.want {
			t.Errorf("parseImageOps(%q) = %+v, %v, %v; want %+v", c.text, got, ok, err, c.want)
		}
	}
	if _, ok, _ := parseImageOps("describe the colours"); ok {
		t.Error("a sentence without an edit was read as one")
	}
}

// wavBytes is a 16-bit WAV of a sine at amplitude amp, for seconds.
func wavBytes(rate, channels int, seconds, amp float64) []byte {
	n := int(float64(rate) * seconds)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+n*channels*2))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate), uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		_ = binary.Write(&b, le, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(n*channels*2))
	for i := 0; i < n; i++ {
		v := int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for c := 0; c < channels; c++ {
			_ = binary.Write(&b, le, v)
		}
	}
	return b.Bytes()
}

func TestAudioInfo(t *testing.T) {
	s := mediaStore(t)
	a := put(t, s, "tone.wav", "audio/wav", wavBytes(8000, 2, 1.5, 0.5))
	out, err := AudioInfo{}.GenerateArtifacts(context.Background(), task.Work{Artifacts: []task.ArtifactRef{a}}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var info audioInfo
	_ = json.Unmarshal([]byte(out.Text), &info)
	if info.DurationSeconds != 1.5 || info.SampleRate != 8000 || info.Channels != 2 || info.BitsPerSample != 16 ||
		math.Abs(info.PeakdBFS+6.0) > 0.1 || math.Abs(info.RMSdBFS+9.0) > 0.1 {
		t.Fatalf("info = %+v", info)
	}
	png := put(t, s, "x.png", "audio/wav", encodePNG(t, testImage(2, 2)))
	if _, err := (AudioInfo{}).GenerateArtifacts(context.Background(), task.Work{Artifacts: []task.ArtifactRef{png}}, s, nil); task.AsError(err).Code != task.CodeBadInput {
		t.Fatalf("a PNG read as WAV = %v", err)
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(wavBytes(8000, 1, 0.01, 0.5))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x03\x00\x01\x00\x40\x1f\x00\x00\x00\x7d\x00\x00\x04\x00\x20\x00data\x08\x00\x00\x00\x00\x00\x80\x7f\x00\x00\xc0\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := readWAV(context.Background(), bytes.NewReader(data))
		if err == nil && (info.SampleRate < 1 || info.Channels < 1 || math.IsNaN(info.RMSdBFS) || math.IsNaN(info.PeakdBFS)) {
			t.Fatalf("readWAV = %+v", info)
		}
	})
}

func FuzzExifOrientation(f *testing.F) {
	var jb bytes.Buffer
	_ = jpeg.Encode(&jb, testImage(8, 8), nil)
	f.Add(withOrientation(jb.Bytes(), 6))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(data); o < 0 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

func FuzzParseImageOps(f *testing.F) {
	f.Add("make it grayscale and 256 px wide")
	f.Add("rotate 99999 degrees to 99999x99999")
	f.Fuzz(func(t *testing.T, text string) {
		ops, _, _ := parseImageOps(text)
		if ops.width > 99999 || ops.height > 99999 || ops.width < -99999 {
			t.Fatalf("ops = %+v", ops)
		}
	})
}
