package healthcard

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// QRPrefix is the shc URI scheme every card QR begins with.
const QRPrefix = "shc:/"

// MaxQRJWS is the longest JWS one QR code holds: version 22 (the largest
// the specification allows, 105x105 modules) in numeric mode at error
// correction L (cards-specification.md, "Health Cards as QR Codes").
const MaxQRJWS = 1195

// NumericEncode writes each JWS character c as the two digits Ord(c)-45
// (cards-specification.md, "Encoding QRs").
func NumericEncode(jws string) (string, error) {
	var b strings.Builder
	b.Grow(2 * len(jws))
	for i := 0; i < len(jws); i++ {
		c := jws[i]
		if c < '-' || c > 'z' {
			return "", fmt.Errorf("character %q at %d cannot be in a compact JWS", c, i)
		}
		n := c - '-'
		b.WriteByte('0' + n/10)
		b.WriteByte('0' + n%10)
	}
	return b.String(), nil
}

// NumericDecode reverses NumericEncode.
func NumericDecode(digits string) (string, error) {
	if len(digits)%2 != 0 {
		return "", fmt.Errorf("the numeric part has %d digits; each character takes two", len(digits))
	}
	b := make([]byte, len(digits)/2)
	for i := 0; i < len(digits); i += 2 {
		d0, d1 := digits[i], digits[i+1]
		if d0 < '0' || d0 > '9' || d1 < '0' || d1 > '9' {
			return "", fmt.Errorf("the numeric part has a non-digit at %d", i)
		}
		n := (d0-'0')*10 + (d1 - '0')
		if n > 'z'-'-' {
			return "", fmt.Errorf("digits %q at %d are above 77, the highest a JWS character encodes to", digits[i:i+2], i)
		}
		b[i/2] = '-' + n
	}
	return string(b), nil
}

// QRContent is the text of a card's QR code: shc:/ and the numeric JWS.
func QRContent(jws string) (string, error) {
	d, err := NumericEncode(jws)
	if err != nil {
		return "", err
	}
	return QRPrefix + d, nil
}

// Chunk is one QR's part of a card: Index and Total are 1 and 1 for a
// whole card, as every card Mekong issues is.
type Chunk struct {
	Index, Total int
	JWS          string
}

// MaxChunks bounds the deprecated multi-QR form a verifier still reads.
const MaxChunks = 20

// ParseQRContent reads "shc:/DIGITS", or the deprecated chunk form
// "shc:/C/N/DIGITS" that older issuers printed on several QR codes.
func ParseQRContent(s string) (Chunk, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, QRPrefix)
	if !ok {
		if len(s) >= len(QRPrefix) && strings.EqualFold(s[:len(QRPrefix)], QRPrefix) {
			rest = s[len(QRPrefix):]
		} else {
			return Chunk{}, errors.New("a card's QR content begins with shc:/")
		}
	}
	if len(rest) > 2*MaxJWSBytes {
		return Chunk{}, fmt.Errorf("the QR content is longer than %d digits", 2*MaxJWSBytes)
	}
	ch := Chunk{Index: 1, Total: 1}
	if parts := strings.Split(rest, "/"); len(parts) == 3 {
		c, err1 := strconv.Atoi(parts[0])
		n, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || n < 1 || n > MaxChunks || c < 1 || c > n {
			return Chunk{}, fmt.Errorf("chunk %q of %q is not C/N with 1 <= C <= N <= %d", parts[0], parts[1], MaxChunks)
		}
		ch.Index, ch.Total, rest = c, n, parts[2]
	} else if len(parts) != 1 {
		return Chunk{}, errors.New("after shc:/ come digits, or C/N/digits for a chunk")
	}
	jws, err := NumericDecode(rest)
	if err != nil {
		return Chunk{}, err
	}
	ch.JWS = jws
	return ch, nil
}

// JoinChunks assembles a card from the QR contents of all its chunks, in
// any order (one content for a card on a single QR).
func JoinChunks(contents []string) (string, error) {
	if len(contents) == 0 {
		return "", errors.New("no QR content")
	}
	chunks := make([]Chunk, 0, len(contents))
	for _, s := range contents {
		c, err := ParseQRContent(s)
		if err != nil {
			return "", err
		}
		chunks = append(chunks, c)
	}
	total := chunks[0].Total
	if len(chunks) != total {
		return "", fmt.Errorf("the card is in %d QR codes; %d were given", total, len(chunks))
	}
	sort.Slice(chunks, func(i, j int) bool { return chunks[i].Index < chunks[j].Index })
	var b strings.Builder
	for i, c := range chunks {
		if c.Total != total || c.Index != i+1 {
			return "", fmt.Errorf("the QR codes are not chunks 1 to %d of one card", total)
		}
		b.WriteString(c.JWS)
	}
	return b.String(), nil
}
