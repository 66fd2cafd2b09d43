package healthcard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Key is an issuer's ES256 key: a P-256 key pair named by its RFC 7638
// thumbprint (cards-specification.md, "Determining keys associated with an
// issuer"). Private is nil for a key that only verifies.
type Key struct {
	ID      string
	Public  *ecdsa.PublicKey
	Private *ecdsa.PrivateKey
	// CRLVersion is the counter of the key's Card Revocation List, published
	// as the JWK's crlVersion; 0 means the issuer publishes no list for it.
	CRLVersion int
}

// NewKey generates a P-256 signing key.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("healthcard.NewKey: %w", err)
	}
	return KeyOf(priv)
}

// KeyOf wraps a P-256 private key.
func KeyOf(priv *ecdsa.PrivateKey) (*Key, error) {
	k, err := publicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	k.Private = priv
	return k, nil
}

func publicKey(pub *ecdsa.PublicKey) (*Key, error) {
	if pub.Curve != elliptic.P256() {
		return nil, errors.New("the key is not on curve P-256, which ES256 needs")
	}
	kid, err := Thumbprint(pub)
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Public: pub}, nil
}

// Thumbprint is the base64url SHA-256 JWK thumbprint of a public key
// (RFC 7638), the kid a SMART Health Card key SHALL have.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("healthcard.Thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PrivatePEM is the private key as PKCS #8 PEM, the form keys are stored in.
func (k *Key) PrivatePEM() ([]byte, error) {
	if k.Private == nil {
		return nil, errors.New("healthcard: the key has no private part")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// publicJWK is the key as published: kty, crv, x, y, kid, use sig, alg
// ES256, and crlVersion when the issuer keeps a revocation list.
func (k *Key) publicJWK() map[string]any {
	raw, _ := jose.JSONWebKey{Key: k.Public, KeyID: k.ID, Use: "sig", Algorithm: string(jose.ES256)}.MarshalJSON()
	m := map[string]any{}
	_ = json.Unmarshal(raw, &m)
	if k.CRLVersion > 0 {
		m["crlVersion"] = k.CRLVersion
	}
	return m
}

// JWKS is the JSON Web Key Set of keys' public parts (never "d"), as served
// at [issuer]/.well-known/jwks.json.
func JWKS(keys []*Key) []byte {
	set := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.publicJWK())
	}
	out, _ := fhirjson.Marshal(set)
	return out
}

// MaxJWKSBytes bounds a key set read from outside.
const MaxJWKSBytes = 1 << 20

// ParseJWKS reads a JSON Web Key Set. Only SMART Health Card signing keys
// are kept (kty EC, crv P-256, alg ES256 when given, use sig when given);
// a key whose kid is not its thumbprint is refused, since verifiers find
// keys by kid. Keys with "d" keep their private part, so a configured
// JWKS can also sign.
func ParseJWKS(data []byte) ([]*Key, error) {
	if len(data) > MaxJWKSBytes {
		return nil, fmt.Errorf("the key set is larger than %d bytes", MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	if set.Keys == nil {
		return nil, errors.New("not a JSON Web Key Set: no \"keys\" array")
	}
	var out []*Key
	for i, raw := range set.Keys {
		var hdr struct {
			Kty        string `json:"kty"`
			Crv        string `json:"crv"`
			Alg        string `json:"alg"`
			Use        string `json:"use"`
			Kid        string `json:"kid"`
			CRLVersion *int   `json:"crlVersion"`
		}
		if err := json.Unmarshal(raw, &hdr); err != nil {
			return nil, fmt.Errorf("keys[%d]: %v", i, err)
		}
		if hdr.Kty != "EC" || hdr.Crv != "P-256" || (hdr.Alg != "" && hdr.Alg != "ES256") || (hdr.Use != "" && hdr.Use != "sig") {
			continue // another kind of key: not for health cards
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("keys[%d]: %v", i, err)
		}
		var k *Key
		var err error
		switch key := jwk.Key.(type) {
		case *ecdsa.PrivateKey:
			k, err = KeyOf(key)
		case *ecdsa.PublicKey:
			k, err = publicKey(key)
		default:
			err = errors.New("not an EC key")
		}
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %v", i, err)
		}
		if hdr.Kid != k.ID {
			return nil, fmt.Errorf("keys[%d]: kid %q is not the key's RFC 7638 thumbprint %q", i, hdr.Kid, k.ID)
		}
		if hdr.CRLVersion != nil {
			if *hdr.CRLVersion < 1 {
				return nil, fmt.Errorf("keys[%d]: crlVersion %d: the counter starts at 1", i, *hdr.CRLVersion)
			}
			k.CRLVersion = *hdr.CRLVersion
		}
		out = append(out, k)
	}
	return out, nil
}

// ParsePEM reads P-256 keys from PEM: private keys (PKCS #8 "PRIVATE KEY"
// or SEC 1 "EC PRIVATE KEY") and public keys ("PUBLIC KEY").
func ParsePEM(data []byte) ([]*Key, error) {
	var out []*Key
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var k *Key
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			var any any
			if any, err = x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
				priv, ok := any.(*ecdsa.PrivateKey)
				if !ok {
					return nil, errors.New("the PEM private key is not an EC key")
				}
				k, err = KeyOf(priv)
			}
		case "EC PRIVATE KEY":
			var priv *ecdsa.PrivateKey
			if priv, err = x509.ParseECPrivateKey(b.Bytes); err == nil {
				k, err = KeyOf(priv)
			}
		case "PUBLIC KEY":
			var any any
			if any, err = x509.ParsePKIXPublicKey(b.Bytes); err == nil {
				pub, ok := any.(*ecdsa.PublicKey)
				if !ok {
					return nil, errors.New("the PEM public key is not an EC key")
				}
				k, err = publicKey(pub)
			}
		default:
			continue // certificates and parameters are not keys
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %v", b.Type, err)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("no P-256 key found in the PEM data")
	}
	return out, nil
}
