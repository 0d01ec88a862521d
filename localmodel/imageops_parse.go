package localmodel

import (
	"regexp"
	"strings"
)

// imageOps are the plain edits local/imageops understands, read from
// words: "make it grayscale and 256 px wide", "rotate 90 degrees",
// "crop to a square", "convert to JPEG", "把图片转成黑白".
type imageOps struct {
	width, height int     // target size; one of them 0 keeps the aspect ratio
	scale         float64 // a fraction of the size, when no width or height is given
	rotate        int     // degrees clockwise: 90, 180 or 270
	flipH, flipV  bool
	square        bool   // crop the centre square
	gray          bool   // grayscale
	format        string // "png", "jpeg", "gif", "bmp", "tiff"; empty keeps the input's (WebP becomes PNG)
}

var (
	reSize     = regexp.MustCompile(`(\d{1,5})\s*(?:x|×|\*|by)\s*(\d{1,5})`)
	reWide     = regexp.MustCompile(`(\d{1,5})\s*(?:px|pixels?|像素)?\s*(?:wide|width|in width|宽)`)
	reWidthIs  = regexp.MustCompile(`(?:width|宽度?)\s*(?:of|to|=|:|为|是)?\s*(\d{1,5})`)
	reTall     = regexp.MustCompile(`(\d{1,5})\s*(?:px|pixels?|像素)?\s*(?:tall|high|height|in height|高)`)
	reHeightIs = regexp.MustCompile(`(?:height|高度)\s*(?:of|to|=|:|为|是)?\s*(\d{1,5})`)
	reLongest  = regexp.MustCompile(`(?:resize|scale|shrink|enlarge|缩放|缩小|放大)\D{0,12}?(\d{1,5})\s*(?:px|pixels?|像素)`)
	rePercent  = regexp.MustCompile(`(\d{1,3})\s*%`)
	reRotate   = regexp.MustCompile(`(?:rotate|turn|旋转)\D{0,20}?(\d{2,3})\s*(?:degrees?|deg|°|度)?`)
	reFormat   = regexp.MustCompile(`(?:to|into|as|a|an|成|为)\s*(?:a\s+|an\s+)?(png|jpe?g|gif|bmp|tiff?|webp)\b`)
)

// parseImageOps reads the edits asked for in text; ok is false when it
// asks for none it knows.
func parseImageOps(text string) (ops imageOps, ok bool, err error) {
	t := strings.ToLower(text)
	ops.readSize(t)
	ops.readTurns(t)
	ops.square = strings.Contains(t, "square") || strings.Contains(t, "正方形")
	ops.gray = containsAny(t, "grayscale", "greyscale", "gray scale", "grey scale", "black and white", "black-and-white", "b&w", "monochrome", "黑白", "灰度")
	if m := reFormat.FindStringSubmatch(t); m != nil {
		ops.format = map[string]string{"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "bmp": "bmp", "tif": "tiff", "tiff": "tiff", "webp": "webp"}[m[1]]
	}
	if ops.format == "webp" {
		return ops, true, errWebP
	}
	ok = ops.width != 0 || ops.height > 0 || ops.scale > 0 || ops.rotate != 0 || ops.flipH || ops.flipV || ops.square || ops.gray || ops.format != ""
	return ops, ok, nil
}

func (ops *imageOps) readSize(t string) {
	if m := reSize.FindStringSubmatch(t); m != nil {
		ops.width, ops.height = atoi(m[1]), atoi(m[2])
		return
	}
	for _, re := range []*regexp.Regexp{reWide, reWidthIs} {
		if m := re.FindStringSubmatch(t); m != nil {
			ops.width = atoi(m[1])
			break
		}
	}
	for _, re := range []*regexp.Regexp{reTall, reHeightIs} {
		if m := re.FindStringSubmatch(t); m != nil {
			ops.height = atoi(m[1])
			break
		}
	}
	if ops.width == 0 && ops.height == 0 {
		if m := reLongest.FindStringSubmatch(t); m != nil {
			ops.width = -atoi(m[1]) // negative: the longest side
		} else if m := rePercent.FindStringSubmatch(t); m != nil && containsAny(t, "resize", "scale", "shrink", "size", "缩放", "缩小") {
			ops.scale = float64(atoi(m[1])) / 100
		} else if containsAny(t, "half the size", "half size", "halve", "缩小一半") {
			ops.scale = 0.5
		}
	}
}

func (ops *imageOps) readTurns(t string) {
	if m := reRotate.FindStringSubmatch(t); m != nil {
		deg := atoi(m[1]) % 360
		if containsAny(t, "counterclockwise", "counter-clockwise", "anticlockwise", "anti-clockwise", "to the left", "逆时针") {
			deg = (360 - deg) % 360
		}
		ops.rotate = deg
	} else if containsAny(t, "upside down", "倒过来") {
		ops.rotate = 180
	}
	if containsAny(t, "flip", "mirror", "翻转", "镜像") {
		ops.flipV = containsAny(t, "vertical", "upside", "垂直", "上下")
		ops.flipH = !ops.flipV || containsAny(t, "horizontal", "水平", "左右")
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
