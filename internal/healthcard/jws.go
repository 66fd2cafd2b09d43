package healthcard

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Credential types (https://terminology.smarthealth.cards/CodeSystem-health-card.html).
// HealthCard SHALL be present; the others are the legacy top-level types
// deprecated in VCI 1.4.0 (cards-changelog.md), still written for the
// verifiers that look for them when the card holds what they name.
const (
	TypeHealthCard   = "https://smarthealth.cards#health-card"
	TypeImmunization = "https://smarthealth.cards#immunization"
	TypeLaboratory   = "https://smarthealth.cards#laboratory"
	TypeCOVID19      = "https://smarthealth.cards#covid19"
)

// FHIRVersion is the FHIR version of every card's bundle.
const FHIRVersion = "4.0.1"

// Credential is what a card says, before it is signed.
type Credential struct {
	// Issuer is the iss: an https URL without a trailing slash.
	Issuer string
	// IssuedAt is nbf.
	IssuedAt time.Time
	// Expires is exp; zero means the card does not expire.
	Expires time.Time
	// Types is vc.type; TypeHealthCard is added when missing.
	Types []string
	// Bundle is the minified fhirBundle JSON.
	Bundle []byte
	// RID is vc.rid ("" for none).
	RID string
}

// Payload is the credential's minified JWS payload (before compression).
func (c *Credential) Payload() ([]byte, error) {
	if err := CheckIssuerURL(c.Issuer, true); err != nil {
		return nil, err
	}
	if c.RID != "" && !validRID(c.RID) {
		return nil, fmt.Errorf("rid %q is not at most 24 base64url characters", c.RID)
	}
	bundle, err := fhirjson.Parse(c.Bundle)
	if err != nil {
		return nil, fmt.Errorf("fhirBundle: %v", err)
	}
	types := []any{TypeHealthCard}
	for _, t := range c.Types {
		if t != TypeHealthCard {
			types = append(types, t)
		}
	}
	subject := fhirjson.NewObject()
	subject.Set("fhirVersion", FHIRVersion)
	subject.Set("fhirBundle", bundle)
	vc := fhirjson.NewObject()
	vc.Set("type", types)
	vc.Set("credentialSubject", subject)
	if c.RID != "" {
		vc.Set("rid", c.RID)
	}
	p := fhirjson.NewObject()
	p.Set("iss", c.Issuer)
	p.Set("nbf", c.IssuedAt.Unix())
	if !c.Expires.IsZero() {
		p.Set("exp", c.Expires.Unix())
	}
	p.Set("vc", vc)
	return fhirjson.Encode(p), nil
}

// CheckIssuerURL checks an iss: https (http only for a loopback host, for
// development when allowLoopback), no trailing slash, no query or fragment.
func CheckIssuerURL(iss string, allowLoopback bool) error {
	switch {
	case iss == "":
		return errors.New("the issuer URL is empty")
	case strings.HasSuffix(iss, "/"):
		return fmt.Errorf("issuer URL %q ends with \"/\"; the specification forbids a trailing slash", iss)
	case strings.ContainsAny(iss, "?# "):
		return fmt.Errorf("issuer URL %q has a query, fragment or space", iss)
	case strings.HasPrefix(iss, "https://") && len(iss) > len("https://"):
		return nil
	case allowLoopback && isLoopback(iss):
		return nil
	}
	return fmt.Errorf("issuer URL %q must use https (http only on 127.0.0.1 or localhost, for development)", iss)
}

func isLoopback(u string) bool {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		host = h
	}
	return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || strings.HasPrefix(host, "[::1]:")
}

// Sign makes the compact JWS of a credential: ES256, zip DEF (the payload
// raw-DEFLATEd, RFC 1951), kid the key's thumbprint
// (cards-specification.md, "Health Cards are Compact").
func Sign(k *Key, c *Credential) (string, error) {
	if k == nil || k.Private == nil {
		return "", errors.New("healthcard.Sign: no private key")
	}
	payload, err := c.Payload()
	if err != nil {
		return "", fmt.Errorf("healthcard.Sign: %w", err)
	}
	z, err := deflate(payload)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithHeader("zip", "DEF"))
	if err != nil {
		return "", fmt.Errorf("healthcard.Sign: %w", err)
	}
	obj, err := signer.Sign(z)
	if err != nil {
		return "", fmt.Errorf("healthcard.Sign: %w", err)
	}
	return obj.CompactSerialize()
}

func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MaxPayloadBytes bounds an inflated card payload: a DEFLATE stream of a few
// kilobytes could otherwise inflate to gigabytes.
const MaxPayloadBytes = 1 << 20

// MaxJWSBytes bounds the JWS text read from outside (a patient summary card
// is a few tens of kilobytes).
const MaxJWSBytes = 256 << 10

func inflate(z []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, MaxPayloadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("the payload is not raw DEFLATE data: %v", err)
	}
	if len(out) > MaxPayloadBytes {
		return nil, fmt.Errorf("the payload inflates to more than %d bytes", MaxPayloadBytes)
	}
	return out, nil
}

// Header is a card's JWS protected header.
type Header struct {
	Alg string `json:"alg"`
	Zip string `json:"zip"`
	Kid string `json:"kid"`
}

// Claims is a card's JWS payload.
type Claims struct {
	Issuer    string   `json:"iss"`
	NotBefore *float64 `json:"nbf"`
	Expires   *float64 `json:"exp"`
	VC        struct {
		Type              []string `json:"type"`
		CredentialSubject struct {
			FHIRVersion string          `json:"fhirVersion"`
			FHIRBundle  json.RawMessage `json:"fhirBundle"`
		} `json:"credentialSubject"`
		RID string `json:"rid"`
	} `json:"vc"`
}

// JWS is a parsed card whose signature is not yet checked.
type JWS struct {
	Raw     string
	Header  Header
	Claims  Claims
	Payload []byte // inflated
	obj     *jose.JSONWebSignature
}

// ParseJWS reads a compact JWS card: header alg ES256, zip DEF and a kid; a
// raw-DEFLATE payload of at most MaxPayloadBytes holding iss, nbf and a vc
// with type and credentialSubject.fhirBundle. It does not check the
// signature (Verify does, once the issuer's key is known).
func ParseJWS(s string) (*JWS, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxJWSBytes {
		return nil, fmt.Errorf("the card is longer than %d characters", MaxJWSBytes)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("a card is a compact JWS of three dot-separated parts; this has %d", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("the JWS header is not base64url: %v", err)
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("the JWS header is not JSON: %v", err)
	}
	switch {
	case h.Alg != "ES256":
		return nil, fmt.Errorf("the JWS algorithm is %q; SMART Health Cards use ES256", h.Alg)
	case h.Zip != "DEF":
		return nil, fmt.Errorf("the JWS header has zip %q; SMART Health Cards have \"DEF\"", h.Zip)
	case h.Kid == "":
		return nil, errors.New("the JWS header has no kid")
	}
	obj, err := jose.ParseSignedCompact(s, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("not a compact ES256 JWS: %v", err)
	}
	payload, err := inflate(obj.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, err
	}
	j := &JWS{Raw: s, Header: h, Payload: payload, obj: obj}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&j.Claims); err != nil {
		return nil, fmt.Errorf("the payload is not a JSON object of claims: %v", err)
	}
	c := &j.Claims
	switch {
	case c.Issuer == "":
		return nil, errors.New("the payload has no iss")
	case c.NotBefore == nil:
		return nil, errors.New("the payload has no nbf (issuance date)")
	case len(c.VC.CredentialSubject.FHIRBundle) == 0:
		return nil, errors.New("the payload has no vc.credentialSubject.fhirBundle")
	case c.VC.RID != "" && !validRID(c.VC.RID):
		return nil, fmt.Errorf("vc.rid %q is not at most 24 base64url characters", c.VC.RID)
	}
	if !j.HasType(TypeHealthCard) {
		return nil, fmt.Errorf("vc.type does not include %s", TypeHealthCard)
	}
	return j, nil
}

// HasType reports whether vc.type lists t.
func (j *JWS) HasType(t string) bool {
	for _, x := range j.Claims.VC.Type {
		if x == t {
			return true
		}
	}
	return false
}

// IssuedAt is nbf as a time.
func (j *JWS) IssuedAt() time.Time { return fromEpoch(*j.Claims.NotBefore) }

// ExpiresAt is exp as a time; zero when the card does not expire.
func (j *JWS) ExpiresAt() time.Time {
	if j.Claims.Expires == nil {
		return time.Time{}
	}
	return fromEpoch(*j.Claims.Expires)
}

// CheckSignature verifies the JWS with k.
func (j *JWS) CheckSignature(k *Key) error {
	if k.ID != j.Header.Kid {
		return fmt.Errorf("key %s cannot verify a card signed with %s", k.ID, j.Header.Kid)
	}
	if _, err := j.obj.Verify(k.Public); err != nil {
		return errors.New("the signature does not match the issuer's key: the card was altered or not signed by this issuer")
	}
	return nil
}
