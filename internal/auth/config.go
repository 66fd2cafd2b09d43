package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Config is the authentication configuration file (--auth-config,
// MEKONG_AUTH_CONFIG): the token issuers Mekong trusts and the access
// policy. docs/auth-config.example.json is a documented example.
type Config struct {
	Issuers []IssuerConfig `json:"issuers"`
	// ClockSkew is the leeway on exp, nbf and iat (default 60s).
	ClockSkew Duration `json:"clock_skew,omitempty"`
	// RestrictedLabels are the security labels ("system|code") whose
	// resources need an explicit label permission; default HIV, R and V.
	RestrictedLabels []string `json:"restricted_labels,omitempty"`
	// LabelTB labels TB results restricted on write (default true).
	LabelTB *bool `json:"label_tb,omitempty"`
	// RateLimit limits each client_id (default 50 requests/s, burst 100).
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	// TokenEndpoint is where clients get tokens (the issuer's OAuth token
	// endpoint), advertised in /.well-known/smart-configuration.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// AuthorizeEndpoint is the issuer's OAuth authorization endpoint, where
	// the clinic page (/app) sends users to sign in (SMART App Launch,
	// standalone, authorization code with PKCE). With TokenEndpoint it is
	// advertised in the SMART configuration, and with it the
	// authorization_code grant.
	AuthorizeEndpoint string `json:"authorize_endpoint,omitempty"`
	// ClinicApp configures the clinic page's sign-in and its policies.
	ClinicApp *ClinicAppConfig `json:"clinic_app,omitempty"`
}

// ClinicAppConfig is the clinic page's OAuth client at the issuer and its
// session and confidentiality policy.
type ClinicAppConfig struct {
	// Issuer is the configured issuer (issuers[].issuer) the page signs
	// users in with; its tokens are verified like any API token.
	Issuer string `json:"issuer"`
	// ClientID is the page's client at the issuer (a public client: PKCE,
	// no secret), or a confidential one with ClientSecret.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	// Scope is what the page asks for (default: openid fhirUser and the
	// user/ read scopes of the served types); the issuer decides per user
	// what it grants (label scopes, mekong/break-glass, AuditEvent).
	Scope string `json:"scope,omitempty"`
	// RedirectURL is the page's callback as registered at the issuer
	// (default: https?://<host>/app/callback from the request).
	RedirectURL string `json:"redirect_url,omitempty"`
	// Audience is the aud sent to the authorize endpoint (SMART's aud: the
	// FHIR base URL); default the request's /fhir base.
	Audience string `json:"audience,omitempty"`
	// IdleTimeout ends a session not used for this long (default 30m).
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// BreakGlassDuration is how long a break-the-glass grant lasts (default 60m).
	BreakGlassDuration Duration `json:"break_glass_duration,omitempty"`
	// ClinicAccessLog lets the organization managing a Patient see who
	// accessed its record, besides auditors (default false).
	ClinicAccessLog bool `json:"clinic_access_log,omitempty"`
}

// IssuerConfig is one trusted token issuer. Exactly one key source:
// JWKSURL, PublicKeys (PEM files) or HMACSecret (development only).
type IssuerConfig struct {
	Issuer   string   `json:"issuer"`
	Audience []string `json:"audience"`
	// Algorithms allowed for this issuer's tokens: RS256, RS384, RS512,
	// PS256, ES256, ES384, EdDSA; HS256/384/512 only with HMACSecret.
	// "none" is never accepted.
	Algorithms []string `json:"algorithms"`
	JWKSURL    string   `json:"jwks_url,omitempty"`
	// JWKSTimeout bounds each JWKS fetch (default 5s).
	JWKSTimeout Duration `json:"jwks_timeout,omitempty"`
	// PublicKeys are PEM files (relative to the config file's directory).
	PublicKeys []string `json:"public_keys,omitempty"`
	// HMACSecret is a shared secret, or "env:NAME" to read it from the
	// environment. For development: anyone holding it can mint tokens.
	HMACSecret string `json:"hmac_secret,omitempty"`
	// OrganizationClaim names the claim holding the client's organization
	// (default "mekong_org").
	OrganizationClaim string `json:"organization_claim,omitempty"`
}

// RateLimit is a per-client token bucket.
type RateLimit struct {
	PerSecond float64 `json:"requests_per_second"`
	Burst     int     `json:"burst"`
}

// Duration is a time.Duration written as "60s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "60s", "5m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"60s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "60s".
func (d Duration) MarshalJSON() ([]byte, error) { return fhirjson.Marshal(time.Duration(d).String()) }

// DefaultClockSkew is the leeway on token times.
const DefaultClockSkew = 60 * time.Second

var asymmetric = map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true}

var symmetric = map[string]bool{"HS256": true, "HS384": true, "HS512": true}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields() // a misspelt option must not silently weaken checks
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("auth config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i := range c.Issuers {
		for j, k := range c.Issuers[i].PublicKeys {
			if !filepath.IsAbs(k) {
				c.Issuers[i].PublicKeys[j] = filepath.Join(dir, k)
			}
		}
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("auth config %s: %w", path, err)
	}
	return &c, nil
}

// Check reports the first thing wrong with c.
func (c *Config) Check() error {
	if len(c.Issuers) == 0 {
		return fmt.Errorf("no issuers: trust at least one")
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		where := fmt.Sprintf("issuers[%d] (%s)", i, is.Issuer)
		switch {
		case is.Issuer == "":
			return fmt.Errorf("issuers[%d]: issuer is required", i)
		case seen[is.Issuer]:
			return fmt.Errorf("%s: issuer listed twice", where)
		case len(is.Audience) == 0:
			return fmt.Errorf("%s: audience is required (the tokens' aud for this server)", where)
		case len(is.Algorithms) == 0:
			return fmt.Errorf("%s: algorithms is required, e.g. [\"RS256\"]", where)
		}
		seen[is.Issuer] = true
		sources := 0
		for _, set := range []bool{is.JWKSURL != "", len(is.PublicKeys) > 0, is.HMACSecret != ""} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			return fmt.Errorf("%s: give exactly one of jwks_url, public_keys and hmac_secret", where)
		}
		for _, a := range is.Algorithms {
			switch {
			case strings.EqualFold(a, "none"):
				return fmt.Errorf("%s: algorithm \"none\" is never accepted", where)
			case symmetric[a] && is.HMACSecret == "":
				return fmt.Errorf("%s: %s needs hmac_secret; public keys are never used as HMAC secrets", where, a)
			case asymmetric[a] && is.HMACSecret != "":
				return fmt.Errorf("%s: %s needs a public key, not hmac_secret", where, a)
			case !symmetric[a] && !asymmetric[a]:
				return fmt.Errorf("%s: unknown algorithm %q", where, a)
			}
		}
	}
	if a := c.ClinicApp; a != nil {
		switch {
		case a.Issuer != "" && !seen[a.Issuer]:
			return fmt.Errorf("clinic_app.issuer %q is not one of the issuers", a.Issuer)
		case a.Issuer != "" && (a.ClientID == "" || c.AuthorizeEndpoint == "" || c.TokenEndpoint == ""):
			return fmt.Errorf("clinic_app: signing in with %s needs client_id, and authorize_endpoint and token_endpoint at the top level", a.Issuer)
		case a.IdleTimeout < 0 || a.BreakGlassDuration < 0:
			return fmt.Errorf("clinic_app: idle_timeout and break_glass_duration must be positive")
		}
	}
	if c.RateLimit != nil && (c.RateLimit.PerSecond <= 0 || c.RateLimit.Burst < 1) {
		return fmt.Errorf("rate_limit: requests_per_second must be > 0 and burst >= 1")
	}
	return nil
}

// Skew is the configured clock skew.
func (c *Config) Skew() time.Duration {
	if c.ClockSkew <= 0 {
		return DefaultClockSkew
	}
	return time.Duration(c.ClockSkew)
}
