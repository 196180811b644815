package vp8enc

import (
	"image"
	"testing"
)

// FuzzEncode encodes small images made from the fuzzer's bytes: the first
// three give the width, height and quantizer, the rest the pixels (repeated
// as needed). Encoding must never fail or panic, and the oracle decoder must
// see exactly the encoder's reconstruction.
func FuzzEncode(f *testing.F) {
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{15, 15, 24, 0x80})
	f.Add([]byte{32, 17, 127, 0, 255, 0, 255, 13, 200})
	f.Add([]byte{47, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		w, h, q := 1+int(data[0])%48, 1+int(data[1])%48, int(data[2])%128
		pix := data[3:]
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		if len(pix) > 0 {
			planes := [][]byte{img.Y, img.Cb, img.Cr}
			k := 0
			for _, p := range planes {
				for i := range p {
					p[i] = pix[k%len(pix)]
					k++
				}
			}
		}
		// Must encode, and decode to exactly the encoder's reconstruction.
		encodeAndCheck(t, img, q)
	})
}
