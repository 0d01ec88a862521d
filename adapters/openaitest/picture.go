package openaitest

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // Describe reads JPEG too
	"image/png"
	"math"
	"strings"
)

// Image is an image a request brought: an image part of a chat message
// (a data: URI decoded), or the image of an edit.
type Image struct {
	MIME string
	Data []byte
}

// namedColours are the colour words Picture draws and Describe names.
var namedColours = []struct {
	name string
	c    color.RGBA
}{
	{"red", color.RGBA{200, 40, 30, 255}},
	{"orange", color.RGBA{240, 140, 20, 255}},
	{"yellow", color.RGBA{240, 220, 40, 255}},
	{"green", color.RGBA{40, 160, 60, 255}},
	{"blue", color.RGBA{40, 80, 200, 255}},
	{"purple", color.RGBA{130, 50, 160, 255}},
	{"white", color.RGBA{245, 245, 245, 255}},
	{"grey", color.RGBA{128, 128, 128, 255}},
	{"black", color.RGBA{15, 15, 15, 255}},
}

// colourWords maps words of a prompt to the colour they bring to mind.
var colourWords = map[string]string{
	"snow": "white", "snowy": "white", "ice": "white", "cloud": "white",
	"sky": "blue", "sea": "blue", "ocean": "blue", "night": "black",
	"grass": "green", "forest": "green", "sun": "yellow", "fire": "red",
	"gray": "grey", "violet": "purple",
}

// Picture draws a PNG of w x h pixels for a prompt: the first colour the
// prompt names fills a disc in the middle, the last one the background,
// so "a red fox in the snow" is a red disc on white. A prompt naming no
// colour gets colours of its own hash. It is what the server's image
// generations answer, real PNG bytes a decoder reads.
func Picture(prompt string, w, h int) []byte {
	fg, bg := promptColours(prompt)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{bg}, image.Point{}, draw.Src)
	cx, cy, r := float64(w)/2, float64(h)/2, float64(min(w, h))/3
	for y := range h {
		for x := range w {
			if math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) <= r {
				img.SetRGBA(x, y, fg)
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // writing to memory does not fail
	return b.Bytes()
}

func promptColours(prompt string) (fg, bg color.RGBA) {
	var found []color.RGBA
	for _, w := range strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool { return !('a' <= r && r <= 'z') }) {
		if alias, ok := colourWords[w]; ok {
			w = alias
		}
		for _, nc := range namedColours {
			if nc.name == w {
				found = append(found, nc.c)
			}
		}
	}
	switch len(found) {
	case 0:
		h := fnv.New32a()
		_, _ = h.Write([]byte(prompt))
		s := h.Sum32()
		return color.RGBA{uint8(s), uint8(s >> 8), uint8(s >> 16), 255}, color.RGBA{255 - uint8(s), 255 - uint8(s>>8), 255 - uint8(s>>16), 255}
	case 1:
		return found[0], namedColours[6].c // white
	}
	return found[0], found[len(found)-1]
}

// Describe says what an image shows, from its pixels: its size, the
// colour at its centre and the colour of its corners, as the scripted
// vision models answer: "A 64x64 picture: a red shape in the middle of
// a white background." An image that does not decode gets an error.
func Describe(data []byte) (string, error) {
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("decoding the image: %w", err)
	}
	b := img.Bounds()
	centre := nearestColour(img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2))
	corner := nearestColour(img.At(b.Min.X, b.Min.Y))
	if centre == corner {
		return fmt.Sprintf("A %dx%d %s picture, all %s.", b.Dx(), b.Dy(), strings.ToUpper(format), centre), nil
	}
	return fmt.Sprintf("A %dx%d %s picture: a %s shape in the middle of a %s background.", b.Dx(), b.Dy(), strings.ToUpper(format), centre, corner), nil
}

// nearestColour names the named colour closest to c.
func nearestColour(c color.Color) string {
	r, g, b, _ := c.RGBA()
	best, dist := "", math.MaxFloat64
	for _, nc := range namedColours {
		dr, dg, db := float64(r>>8)-float64(nc.c.R), float64(g>>8)-float64(nc.c.G), float64(b>>8)-float64(nc.c.B)
		if d := dr*dr + dg*dg + db*db; d < dist {
			best, dist = nc.name, d
		}
	}
	return best
}

// invert returns the image with its colours inverted, as a PNG: what the
// server's image edits do, whatever the prompt says.
func invert(data []byte) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	dst := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := src.At(x, y).RGBA()
			dst.SetRGBA(x, y, color.RGBA{255 - uint8(r>>8), 255 - uint8(g>>8), 255 - uint8(bl>>8), uint8(a >> 8)})
		}
	}
	var out bytes.Buffer
	_ = png.Encode(&out, dst)
	return out.Bytes(), nil
}
