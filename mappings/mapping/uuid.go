package mapping

import (
	"crypto/sha1"
	"encoding/hex"
)

// namespace is the RFC 9562 URL namespace; names are prefixed with Base, so
// Mekong's UUIDs are the version-5 UUIDs of URLs under its canonical base.
var namespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// NameUUID returns the version-5 UUID of Base+"/"+name. Bundle fullUrls are
// derived from source identifiers this way, so the same input always yields
// the same Bundle (golden files, and retries that are byte-identical).
func NameUUID(name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(Base + "/" + name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
