package localmodel

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the EXIF orientation (1-8) that a JPEG's APP1
// segment in head records, or 0 when it records none. It reads only the
// first IFD of the EXIF block, where cameras put the orientation.
func exifOrientation(head []byte) int {
	if len(head) < 4 || head[0] != 0xFF || head[1] != 0xD8 {
		return 0
	}
	for i := 2; i+4 <= len(head); {
		if head[i] != 0xFF {
			return 0
		}
		marker := head[i+1]
		if marker == 0xDA || marker == 0xD9 { // image data: no more metadata
			return 0
		}
		n := int(binary.BigEndian.Uint16(head[i+2:]))
		if n < 2 || i+2+n > len(head) {
			return 0
		}
		seg := head[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 0
}

// tiffOrientation reads tag 0x0112 of the first IFD of a TIFF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var order binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return 0
	}
	ifd := int(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	count := int(order.Uint16(t[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if order.Uint16(t[e:]) == 0x0112 && order.Uint16(t[e+2:]) == 3 {
			if v := int(order.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// orientationNames say what each EXIF orientation asks a viewer to do.
var orientationNames = [...]string{1: "normal", 2: "mirrored", 3: "rotated 180°", 4: "flipped vertically",
	5: "mirrored and rotated 90° counter-clockwise", 6: "rotated 90° clockwise", 7: "mirrored and rotated 90° clockwise", 8: "rotated 90° counter-clockwise"}

// bytesReader reads b; a small helper so image code reads as it means.
func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
