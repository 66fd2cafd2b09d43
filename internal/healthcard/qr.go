package healthcard

import (
	"errors"
	"fmt"

	qr "github.com/piglig/go-qr"
)

// ErrTooLarge is returned for a card whose JWS does not fit one QR code.
var ErrTooLarge = errors.New("the card does not fit one QR code")

// QRCode builds a card's QR code: a byte segment "shc:/" then a numeric
// segment, error correction L, version 22 at most
// (cards-specification.md, "Encoding QRs"). A JWS over MaxQRJWS characters
// is ErrTooLarge: chunking is deprecated and never used.
func QRCode(jws string) (*qr.QrCode, error) {
	if len(jws) > MaxQRJWS {
		return nil, fmt.Errorf("%w: its JWS has %d characters; one QR code (version 22) holds %d", ErrTooLarge, len(jws), MaxQRJWS)
	}
	digits, err := NumericEncode(jws)
	if err != nil {
		return nil, err
	}
	prefix, err := qr.MakeBytes([]byte(QRPrefix))
	if err != nil {
		return nil, err
	}
	num, err := qr.MakeNumeric(digits)
	if err != nil {
		return nil, err
	}
	// boostEcl false: L exactly as specified, mask chosen by the encoder (-1).
	code, err := qr.EncodeSegments([]*qr.QrSegment{prefix, num}, qr.Low, 1, 22, -1, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	return code, nil
}

// QRPNG renders a card's QR code as PNG, scale pixels a module with the
// 4-module quiet zone the QR standard asks for.
func QRPNG(jws string, scale int) ([]byte, error) {
	code, err := QRCode(jws)
	if err != nil {
		return nil, err
	}
	if scale < 1 {
		scale = 4
	}
	return code.ToPNGBytes(qr.NewQrCodeImgConfig(scale, 4))
}
