package healthcard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // QR photos
	_ "image/png"
	"strings"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// FileContentType is the media type of a .smart-health-card file.
const FileContentType = "application/smart-health-card"

// MaxFileBytes bounds a .smart-health-card file read from outside.
const MaxFileBytes = 4 << 20

// MaxCardsPerFile bounds the cards one file may hold.
const MaxCardsPerFile = 100

// File is the body of a .smart-health-card file
// (cards-specification.md, "via File Download").
func File(jws ...string) []byte {
	out, _ := fhirjson.Marshal(struct {
		VC []string `json:"verifiableCredential"`
	}{VC: jws})
	return out
}

// ParseFile reads a .smart-health-card file: {"verifiableCredential": [jws...]}.
func ParseFile(data []byte) ([]string, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("the file is larger than %d bytes", MaxFileBytes)
	}
	var f struct {
		VC []string `json:"verifiableCredential"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// Go's wording names Go types; say what the file should hold.
			return nil, fmt.Errorf("not a .smart-health-card file: verifiableCredential must be an array of strings (compact JWS), and here %s is a JSON %s", typeErr.Field, typeErr.Value)
		}
		return nil, errors.New("not a .smart-health-card file: it is not JSON of the form {\"verifiableCredential\": [\"<JWS>\"]}")
	}
	switch {
	case len(f.VC) == 0:
		return nil, errors.New("the file's verifiableCredential array is missing or empty")
	case len(f.VC) > MaxCardsPerFile:
		return nil, fmt.Errorf("the file holds %d cards; at most %d are read", len(f.VC), MaxCardsPerFile)
	}
	return f.VC, nil
}

// ReadCards finds the cards in what a verifier was given: a
// .smart-health-card file, one or more shc:/ QR contents (the chunks of one
// card, in any order), a compact JWS, or a QR code image (PNG or JPEG).
func ReadCards(inputs ...[]byte) ([]string, error) {
	var shc []string
	var cards []string
	for _, in := range inputs {
		t := bytes.TrimSpace(in)
		switch {
		case len(t) == 0:
			return nil, errors.New("empty input")
		case t[0] == '{':
			vc, err := ParseFile(t)
			if err != nil {
				return nil, err
			}
			cards = append(cards, vc...)
		case bytes.HasPrefix(bytes.ToLower(t[:min(len(t), 5)]), []byte(QRPrefix)):
			shc = append(shc, string(t))
		case bytes.Count(t, []byte(".")) == 2 && !bytes.ContainsAny(t, " \n\x00"):
			cards = append(cards, string(t))
		default:
			text, err := DecodeQRImage(in)
			if err != nil {
				return nil, fmt.Errorf("neither a card (shc:/, JWS or .smart-health-card file) nor a readable QR image: %v", err)
			}
			shc = append(shc, text)
		}
	}
	if len(shc) > 0 {
		jws, err := JoinChunks(shc)
		if err != nil {
			return nil, err
		}
		cards = append(cards, jws)
	}
	return cards, nil
}

// MaxImagePixels bounds a QR image's decoded size (a 4000x4000 photo).
const MaxImagePixels = 16_000_000

// DecodeQRImage reads the text of the QR code in a PNG or JPEG image.
func DecodeQRImage(data []byte) (string, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("not a PNG or JPEG image: %v", err)
	}
	if cfg.Width*cfg.Height > MaxImagePixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return "", fmt.Errorf("the image is %dx%d pixels; at most %d pixels are read", cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	// ZXing's finder-pattern detector misses some dense codes (version 20
	// and up) even in a clean image, depending on the data; a card read at
	// a border post must not fail for that. A clean image (a PNG we or
	// another issuer rendered, a screenshot) is read again as a pure
	// barcode, which skips detection and samples the modules directly.
	var firstErr error
	for _, hints := range []map[gozxing.DecodeHintType]interface{}{
		{gozxing.DecodeHintType_TRY_HARDER: true},
		{gozxing.DecodeHintType_PURE_BARCODE: true},
	} {
		res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
		if err == nil {
			return strings.TrimSpace(res.GetText()), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", fmt.Errorf("no QR code found in the image: %v", firstErr)
}
