package auth

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Authenticator turns a request's Authorization header into its principal.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (*Principal, error)
}

// Error is an authentication failure, answered 401 with
// WWW-Authenticate: Bearer (https://www.rfc-editor.org/rfc/rfc6750#section-3).
// Code is "" when the request carried no bearer token (RFC 6750 §3.1: no
// error code then), otherwise "invalid_token" or "invalid_request".
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return "authentication required: " + e.Description
	}
	return e.Code + ": " + e.Description
}

func invalid(format string, args ...any) *Error {
	return &Error{Code: "invalid_token", Description: fmt.Sprintf(format, args...)}
}

// Open is the authenticator of --auth none: everyone is an unauthenticated
// principal that passes every check. For local experiments only.
type Open struct{}

// Authenticate implements Authenticator.
func (Open) Authenticate(context.Context, string) (*Principal, error) {
	return &Principal{Subject: "anonymous", ClientID: "anonymous", Unauthenticated: true}, nil
}

// Verifier checks bearer JWTs against the configured issuers.
type Verifier struct {
	issuers map[string]*issuer
	// now is the clock (tests).
	now func() time.Time
}

type issuer struct {
	cfg    IssuerConfig
	parser *jwt.Parser
	key    jwt.Keyfunc
}

// NewVerifier prepares the issuers of cfg: PEM keys are read now, JWKS are
// fetched in the background (ctx ends their refresh) and again when a token
// names an unknown kid.
func NewVerifier(ctx context.Context, cfg *Config) (*Verifier, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	v := &Verifier{issuers: map[string]*issuer{}, now: time.Now}
	for _, ic := range cfg.Issuers {
		is := &issuer{cfg: ic}
		opts := []jwt.ParserOption{
			jwt.WithValidMethods(ic.Algorithms),
			jwt.WithIssuer(ic.Issuer),
			jwt.WithAudience(ic.Audience...),
			jwt.WithLeeway(cfg.Skew()),
			jwt.WithIssuedAt(),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(func() time.Time { return v.now() }),
		}
		is.parser = jwt.NewParser(opts...)
		switch {
		case ic.JWKSURL != "":
			timeout := time.Duration(ic.JWKSTimeout)
			if timeout <= 0 {
				timeout = 5 * time.Second
			}
			k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{ic.JWKSURL}, keyfunc.Override{
				HTTPTimeout: timeout,
				// An unknown kid refetches the set (key rotation), at most every 30s.
				RefreshUnknownKID: rate.NewLimiter(rate.Every(30*time.Second), 1),
				RateLimitWaitMax:  timeout,
			})
			if err != nil {
				return nil, fmt.Errorf("auth: issuer %s: %w", ic.Issuer, err)
			}
			is.key = k.KeyfuncCtx(ctx)
		case len(ic.PublicKeys) > 0:
			set := jwt.VerificationKeySet{}
			for _, path := range ic.PublicKeys {
				k, err := readPublicKey(path)
				if err != nil {
					return nil, fmt.Errorf("auth: issuer %s: %w", ic.Issuer, err)
				}
				set.Keys = append(set.Keys, k)
			}
			is.key = func(*jwt.Token) (any, error) { return set, nil }
		default:
			secret := ic.HMACSecret
			if name, ok := strings.CutPrefix(secret, "env:"); ok {
				secret = os.Getenv(name)
				if secret == "" {
					return nil, fmt.Errorf("auth: issuer %s: environment variable %s (hmac_secret) is empty", ic.Issuer, name)
				}
			}
			key := []byte(secret)
			is.key = func(t *jwt.Token) (any, error) {
				// Only HMAC methods get the secret: a public-key algorithm
				// can never be verified with it, nor HMAC with a public key.
				if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
					return nil, fmt.Errorf("algorithm %s needs a public key", t.Method.Alg())
				}
				return key, nil
			}
		}
		v.issuers[ic.Issuer] = is
	}
	return v, nil
}

// readPublicKey reads a PEM public key (PKIX "PUBLIC KEY" or an X.509 certificate).
func readPublicKey(path string) (crypto.PublicKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("%s: PEM block %q is not a public key or certificate", path, block.Type)
}

// readPEM reads the first PEM block of the file at path.
func readPEM(path string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block, nil
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(authorization string) (string, *Error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if authorization == "" || !strings.EqualFold(scheme, "Bearer") {
		return "", &Error{Description: "send an access token: Authorization: Bearer <token>"}
	}
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return "", &Error{Code: "invalid_request", Description: "the Bearer credentials are empty"}
	}
	return tok, nil
}

// Authenticate implements Authenticator. Failures say what is wrong with
// the token without echoing any of it.
func (v *Verifier) Authenticate(ctx context.Context, authorization string) (*Principal, error) {
	raw, aerr := BearerToken(authorization)
	if aerr != nil {
		return nil, aerr
	}
	unverified, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		return nil, invalid("the token is not a well-formed JWT")
	}
	iss, _ := unverified.Claims.GetIssuer()
	is := v.issuers[iss]
	if is == nil {
		return nil, invalid("the token's issuer is not trusted by this server")
	}
	claims := jwt.MapClaims{}
	if _, err := is.parser.ParseWithClaims(raw, claims, is.key); err != nil {
		return nil, describe(err)
	}
	return principalFrom(iss, claims, is.cfg.OrganizationClaim), nil
}

// describe maps a verification failure to a short, token-free description.
func describe(err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid("the token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenExpired):
		return invalid("the token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return invalid("the token is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalid("the token was issued in the future (iat)")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return invalid("the token is not meant for this server (aud)")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return invalid("the token's issuer is not trusted by this server")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return invalid("the token lacks a required claim (exp)")
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid("the token's signature or algorithm is not accepted for its issuer")
	}
	return invalid("the token is not valid")
}
