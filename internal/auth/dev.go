package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Development tokens: `mekong serve --dev` trusts a local Ed25519 key as
// issuer DevIssuer, and `mekong token` mints tokens with it.
const (
	DevIssuer   = "mekong-dev"
	DevAudience = "mekong"
	// DevKeyFile and DevPublicKeyFile live in the data directory.
	DevKeyFile       = "dev-signing-key.pem"
	DevPublicKeyFile = "dev-signing-key.pub.pem"
	// DevScopes are the broad scopes of the token serve --dev prints:
	// everything, every label, the auditor's AuditEvent search, /metrics
	// and the identity steward's decisions.
	DevScopes = "user/*.cruds user/AuditEvent.rs mekong/label.* mekong/metrics mekong/identity"
)

// LoadDevKey reads the development signing key in dir; it never creates
// one (mekong token must not mint with a key the server does not trust).
// A missing key is an error wrapping os.ErrNotExist.
func LoadDevKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, DevKeyFile)
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

// DevKey loads the development signing key from dir, creating it (mode
// 0600, with its public key beside it) on first use: serve --dev's key.
func DevKey(dir string) (ed25519.PrivateKey, bool, error) {
	path := filepath.Join(dir, DevKeyFile)
	ek, err := LoadDevKey(dir)
	if err == nil {
		return ek, false, writeDevPublic(dir, ek)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	return priv, true, writeDevPublic(dir, priv)
}

func writeDevPublic(dir string, k ed25519.PrivateKey) error {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, DevPublicKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// DevIssuerConfig trusts the development key in dir.
func DevIssuerConfig(dir string) IssuerConfig {
	return IssuerConfig{Issuer: DevIssuer, Audience: []string{DevAudience}, Algorithms: []string{"EdDSA"},
		PublicKeys: []string{filepath.Join(dir, DevPublicKeyFile)}}
}

// MintOptions describe a development token.
type MintOptions struct {
	Scopes []string
	// Patient is the launch context patient (the "patient" claim).
	Patient string
	// Sensitive adds the permission to see every restricted label.
	Sensitive    bool
	Organization string
	Subject      string
	ClientID     string
	TTL          time.Duration
}

// Mint signs a token with the development key.
func Mint(key ed25519.PrivateKey, o MintOptions) (string, error) {
	now := time.Now()
	if o.TTL <= 0 {
		o.TTL = 12 * time.Hour
	}
	if o.Subject == "" {
		o.Subject = "dev-user"
	}
	if o.ClientID == "" {
		o.ClientID = "mekong-dev-cli"
	}
	scopes := append([]string(nil), o.Scopes...)
	if o.Sensitive {
		scopes = append(scopes, LabelScopePrefix+"*")
	}
	claims := jwt.MapClaims{
		"iss": DevIssuer, "aud": DevAudience, "sub": o.Subject, "client_id": o.ClientID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(o.TTL).Unix(),
		"jti": uuid.NewString(), "scope": strings.Join(scopes, " "),
	}
	if o.Patient != "" {
		claims["patient"] = o.Patient
	}
	if o.Organization != "" {
		claims[DefaultOrganizationClaim] = o.Organization
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(key)
}
