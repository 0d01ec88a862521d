package localmodel

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"strings"

	"github.com/disintegration/imaging"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/taskrouter/taskrouter/task"
)

// ImageOps is local/imageops: plain edits of the images its work reads,
// said in words (see parseImageOps): resize, crop to a square, rotate by
// quarter turns, flip, grayscale, convert the format. Each edited image is
// stored as a new artifact, streamed to the store as it is encoded.
type ImageOps struct{}

var _ Model = ImageOps{}

// maxEdgePixels bounds the size an edit may ask for.
const maxEdgePixels = 16384

var errWebP = task.Errorf(task.CodeBadInput, "local/imageops cannot write WebP; ask for PNG, JPEG, GIF, BMP or TIFF")

// Generate refuses work without the artifact store.
func (ImageOps) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{}, needsStore("local/imageops")
}

// GenerateArtifacts edits every image the work reads as its input says.
func (ImageOps) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, _ func(string)) (task.Output, error) {
	imgs, err := imagesOf(w)
	if err != nil {
		return task.Output{}, err
	}
	ops, ok, err := parseImageOps(w.Input)
	if err != nil {
		return task.Output{}, err
	}
	if !ok {
		return task.Output{}, task.Errorf(task.CodeBadInput, "say what to do with the image: resize it (\"256 px wide\", \"800x600\", \"50%%\"), crop it to a square, "+
			"rotate it 90 degrees, flip it, make it grayscale, or convert it to PNG, JPEG, GIF, BMP or TIFF")
	}
	var lines []string
	var made []task.ArtifactRef
	for _, a := range imgs {
		line, ref, err := editImage(ctx, store, a, ops)
		if err != nil {
			return task.Output{}, err
		}
		lines, made = append(lines, line), append(made, ref)
	}
	out := textOutput(w.Input, strings.Join(lines, "\n"))
	out.Artifacts = made
	return out, nil
}

// editImage edits one image and stores the result; line says what was done.
func editImage(ctx context.Context, store task.Artifacts, a task.ArtifactRef, ops imageOps) (string, task.ArtifactRef, error) {
	src, format, _, err := decodeArtifact(ctx, store, a)
	if err != nil {
		return "", task.ArtifactRef{}, err
	}
	img, done, err := ops.apply(src)
	if err != nil {
		return "", task.ArtifactRef{}, err
	}
	out := ops.format
	if out == "" {
		out = format
		if out == "webp" {
			out = "png" // no WebP encoder: PNG keeps every pixel
		}
	}
	if err := stopped(ctx, "editing the image"); err != nil {
		return "", task.ArtifactRef{}, err
	}
	ref, err := storeEncoded(ctx, store, img, out, editedName(a, out))
	if err != nil {
		return "", task.ArtifactRef{}, err
	}
	b := img.Bounds()
	line := fmt.Sprintf("%s: %s, now %d×%d %s; stored as %s", describe(a), strings.Join(done, ", "), b.Dx(), b.Dy(), strings.ToUpper(out), ref)
	return line, ref, nil
}

// apply runs the edits in a fixed order: turns, crop, size, colour.
func (ops imageOps) apply(img image.Image) (image.Image, []string, error) {
	var done []string
	switch ops.rotate {
	case 0:
	case 90:
		img, done = imaging.Rotate270(img), append(done, "rotated 90° clockwise") // imaging turns counter-clockwise
	case 180:
		img, done = imaging.Rotate180(img), append(done, "rotated 180°")
	case 270:
		img, done = imaging.Rotate90(img), append(done, "rotated 90° counter-clockwise")
	default:
		return nil, nil, task.Errorf(task.CodeBadInput, "local/imageops rotates by quarter turns (90, 180 or 270 degrees), not %d", ops.rotate)
	}
	if ops.flipH {
		img, done = imaging.FlipH(img), append(done, "flipped horizontally")
	}
	if ops.flipV {
		img, done = imaging.FlipV(img), append(done, "flipped vertically")
	}
	if ops.square {
		b := img.Bounds()
		side := min(b.Dx(), b.Dy())
		img, done = imaging.CropCenter(img, side, side), append(done, "cropped to a square")
	}
	img, done, err := ops.resize(img, done)
	if err != nil {
		return nil, nil, err
	}
	if ops.gray {
		img, done = toGray(img), append(done, "grayscale")
	}
	if ops.format != "" {
		done = append(done, "converted to "+strings.ToUpper(ops.format))
	}
	return img, done, nil
}

func (ops imageOps) resize(img image.Image, done []string) (image.Image, []string, error) {
	b := img.Bounds()
	w, h := ops.width, ops.height
	switch {
	case w < 0: // the longest side
		if b.Dx() >= b.Dy() {
			w, h = -w, 0
		} else {
			w, h = 0, -w
		}
	case ops.scale > 0:
		w = max(1, int(float64(b.Dx())*ops.scale+0.5))
	case w == 0 && h == 0:
		return img, done, nil
	}
	if w > maxEdgePixels || h > maxEdgePixels {
		return nil, nil, task.Errorf(task.CodeBadInput, "local/imageops makes images of at most %d pixels a side", maxEdgePixels)
	}
	img = imaging.Resize(img, w, h, imaging.Lanczos)
	nb := img.Bounds()
	return img, append(done, fmt.Sprintf("resized to %d×%d", nb.Dx(), nb.Dy())), nil
}

// toGray returns img as 8-bit grayscale, which PNG stores as such.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
	return g
}

// storeEncoded encodes img in format straight into the store, through a
// pipe: the encoded file is never held whole in memory.
func storeEncoded(ctx context.Context, store task.Artifacts, img image.Image, format, name string) (task.ArtifactRef, error) {
	pr, pw := io.Pipe()
	encoded := make(chan struct{})
	go func() {
		defer close(encoded)
		pw.CloseWithError(encodeImage(pw, img, format))
	}()
	ref, err := store.Put(ctx, task.ArtifactRef{Name: name, MIME: "image/" + format}, pr)
	pr.CloseWithError(io.ErrClosedPipe) // stops the encoder if Put gave up early
	<-encoded
	return ref, err
}

func encodeImage(w io.Writer, img image.Image, format string) error {
	switch format {
	case "jpeg":
		return jpeg.Encode(w, opaque(img), &jpeg.Options{Quality: 90})
	case "gif":
		return gif.Encode(w, img, nil)
	case "bmp":
		return bmp.Encode(w, img)
	case "tiff":
		return tiff.Encode(w, img, &tiff.Options{Compression: tiff.Deflate})
	}
	return png.Encode(w, img)
}

// opaque puts an image with transparency on white, as JPEG has no alpha.
func opaque(img image.Image) image.Image {
	if _, ok := img.(*image.Gray); ok {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	draw.Draw(out, b, img, b.Min, draw.Over)
	return out
}

// editedName is the file name of an edited image: photo.png becomes
// photo-edited.png (with the new format's extension).
func editedName(a task.ArtifactRef, format string) string {
	base := a.Name
	if base == "" {
		base = "image"
	}
	base = strings.TrimSuffix(base, path.Ext(base))
	ext := map[string]string{"jpeg": ".jpg", "tiff": ".tiff"}[format]
	if ext == "" {
		ext = "." + format
	}
	return base + "-edited" + ext
}
