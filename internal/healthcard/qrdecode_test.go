package healthcard

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// ZXing's detector alone misses some dense QR codes in clean images (about
// 1 in 13 here); DecodeQRImage must read every card QRPNG renders, or a
// border post cannot read a valid card. The data is fixed, so the test is
// repeatable.
func TestDecodeQRImageReadsDenseCodes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 120; i++ {
		n := 600 + i*4 // up to 1,076 characters, versions 17-21
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		jws := base64.RawURLEncoding.EncodeToString(b)[:n]
		png, err := QRPNG(jws, 4)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeQRImage(png)
		if err != nil {
			t.Fatalf("card %d (%d characters): %v", i, n, err)
		}
		if want, _ := QRContent(jws); got != want {
			t.Fatalf("card %d: read %.30q…, want %.30q…", i, got, want)
		}
	}
}
