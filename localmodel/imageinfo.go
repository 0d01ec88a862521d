package localmodel

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"sort"

	// The formats local/imageinfo and local/imageops read.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/taskrouter/taskrouter/task"
)

// ImageInfo is local/imageinfo: the format, size in pixels, colour
// model, dominant colours and EXIF orientation of each image its work
// reads (PNG, JPEG, GIF, WebP, BMP, TIFF).
type ImageInfo struct{}

var _ Model = ImageInfo{}

// maxPixels bounds the images the built-in image models decode: a small
// file may declare a huge canvas (a decompression bomb).
const maxPixels = 64 << 20

// headLen is how much of an image is read before decoding it, for its
// header and EXIF block.
const headLen = 256 << 10

// imageInfo is the JSON answer for one image.
type imageInfo struct {
	Name            string   `json:"name,omitempty"`
	Format          string   `json:"format"`
	Width           int      `json:"width"`
	Height          int      `json:"height"`
	Bytes           int64    `json:"bytes"`
	ColourModel     string   `json:"colour_model"`
	DominantColours []string `json:"dominant_colours"`
	Orientation     string   `json:"orientation"`
}

// Generate refuses work without the artifact store: images come only
// through GenerateArtifacts.
func (ImageInfo) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{}, needsStore("local/imageinfo")
}

// GenerateArtifacts describes every image the work reads.
func (ImageInfo) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, _ func(string)) (task.Output, error) {
	imgs, err := imagesOf(w)
	if err != nil {
		return task.Output{}, err
	}
	var infos []imageInfo
	for _, a := range imgs {
		info, err := describeImage(ctx, store, a)
		if err != nil {
			return task.Output{}, err
		}
		infos = append(infos, info)
	}
	if len(infos) == 1 {
		return jsonOutput(w.Input, infos[0])
	}
	return jsonOutput(w.Input, map[string]any{"images": infos})
}

func needsStore(model string) error {
	return task.Errorf(task.CodeBadInput, "%s reads images from the artifact store: send it work whose artifacts list the image, through an executor with a store", model)
}

// imagesOf returns the images a work reads, or why there are none.
func imagesOf(w task.Work) ([]task.ArtifactRef, error) {
	var out []task.ArtifactRef
	for _, a := range w.Artifacts {
		if a.Kind() == task.TypeImage {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, task.Errorf(task.CodeBadInput, "the subtask reads no image: attach one and refer to it as {{a1}}")
	}
	return out, nil
}

// decodeArtifact streams an image from the store and decodes it, after
// checking from its header that it is not too large to decode; head is
// the start of the file, for its metadata.
func decodeArtifact(ctx context.Context, store task.Artifacts, a task.ArtifactRef) (img image.Image, format string, head []byte, err error) {
	rc, ref, err := store.Open(ctx, a.ID)
	if err != nil {
		return nil, "", nil, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, headLen)
	head, _ = br.Peek(headLen)
	cfg, _, err := image.DecodeConfig(bytesReader(head))
	if err == nil && int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, "", nil, task.Errorf(task.CodeBadInput, "image %s is %d×%d pixels, more than the %d million the built-in image models decode", describe(ref), cfg.Width, cfg.Height, maxPixels>>20)
	}
	img, format, err = image.Decode(br)
	if err != nil {
		if ctxErr := stopped(ctx, "reading the image"); ctxErr != nil {
			return nil, "", nil, ctxErr
		}
		return nil, "", nil, task.Errorf(task.CodeBadInput, "image %s cannot be decoded: %v", describe(ref), err)
	}
	_, _ = io.Copy(io.Discard, br) // the store checks the digest at the end
	return img, format, head, nil
}

func describe(a task.ArtifactRef) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

func describeImage(ctx context.Context, store task.Artifacts, a task.ArtifactRef) (imageInfo, error) {
	img, format, head, err := decodeArtifact(ctx, store, a)
	if err != nil {
		return imageInfo{}, err
	}
	b := img.Bounds()
	o := exifOrientation(head)
	if o == 0 {
		o = 1
	}
	return imageInfo{Name: a.Name, Format: format, Width: b.Dx(), Height: b.Dy(), Bytes: a.Size,
		ColourModel: colourModel(img), DominantColours: dominantColours(img, 3), Orientation: orientationNames[o]}, nil
}

// colourModel names an image's colour model.
func colourModel(img image.Image) string {
	switch m := img.(type) {
	case *image.Paletted:
		return fmt.Sprintf("paletted (%d colours)", len(m.Palette))
	case *image.YCbCr:
		return "YCbCr " + m.SubsampleRatio.String()[len("YCbCrSubsampleRatio"):]
	}
	switch img.ColorModel() {
	case color.RGBAModel, color.NRGBAModel:
		return "RGBA"
	case color.RGBA64Model, color.NRGBA64Model:
		return "RGBA, 16 bits per channel"
	case color.GrayModel:
		return "grayscale"
	case color.Gray16Model:
		return "grayscale, 16 bits"
	case color.CMYKModel:
		return "CMYK"
	case color.AlphaModel, color.Alpha16Model:
		return "alpha only"
	}
	return fmt.Sprintf("%T", img.ColorModel())
}

// dominantColours returns the n most common colours of img, as "#rrggbb
// (p%)": pixels (a sample of at most about 250,000) are counted in
// buckets of 16 levels per channel, and each bucket is shown as the mean
// of its pixels.
func dominantColours(img image.Image, n int) []string {
	b := img.Bounds()
	step := 1
	for (b.Dx()/step)*(b.Dy()/step) > 250_000 {
		step++
	}
	type bucket struct{ r, g, b, n int }
	buckets := map[int]*bucket{}
	total := 0
	for y := b.Min.Y; y < b.Max.Y; y += step {
		for x := b.Min.X; x < b.Max.X; x += step {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.A < 16 {
				continue // transparent pixels have no colour to speak of
			}
			k := int(c.R>>4)<<8 | int(c.G>>4)<<4 | int(c.B>>4)
			bk := buckets[k]
			if bk == nil {
				bk = &bucket{}
				buckets[k] = bk
			}
			bk.r, bk.g, bk.b, bk.n = bk.r+int(c.R), bk.g+int(c.G), bk.b+int(c.B), bk.n+1
			total++
		}
	}
	list := make([]*bucket, 0, len(buckets))
	for _, bk := range buckets {
		list = append(list, bk)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].r+list[i].g+list[i].b < list[j].r+list[j].g+list[j].b
	})
	out := []string{}
	for _, bk := range list[:min(n, len(list))] {
		share := fmt.Sprintf("%d%%", (bk.n*100+total/2)/total)
		if bk.n*200 < total {
			share = "<1%"
		}
		out = append(out, fmt.Sprintf("#%02x%02x%02x (%s)", bk.r/bk.n, bk.g/bk.n, bk.b/bk.n, share))
	}
	return out
}
