// Package trust is a verifier's list of trusted SMART Health Card issuers:
// their keys from a JWKS file (an offline border post) or fetched from
// [iss]/.well-known/jwks.json and cached, and their revocation lists
// likewise (cards-specification.md, "Determining keys associated with an
// issuer" and "Revocation").
package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mekong-fhir/mekong/internal/healthcard"
)

// Config is the trusted issuers file (JSON; unknown keys are refused).
type Config struct {
	Issuers []IssuerConfig `json:"issuers"`
	// FetchTimeout bounds each JWKS or CRL download (default 5s).
	FetchTimeout Duration `json:"fetch_timeout,omitempty"`
	// CacheFor is how long a fetched JWKS is used before it is fetched again (default 1h).
	CacheFor Duration `json:"cache_for,omitempty"`
}

// IssuerConfig is one trusted issuer.
type IssuerConfig struct {
	// Iss is the issuer URL exactly as cards carry it.
	Iss  string `json:"iss"`
	Name string `json:"name,omitempty"`
	// JWKSFile, when set, holds the issuer's keys (offline); otherwise they
	// are fetched from Iss + "/.well-known/jwks.json".
	JWKSFile string `json:"jwks_file,omitempty"`
	// CRLFiles are revocation lists at hand (offline); online, lists are
	// fetched when a key has a crlVersion.
	CRLFiles []string `json:"crl_files,omitempty"`
}

// Duration is a time.Duration written as "5s".
type Duration time.Duration

// UnmarshalJSON reads "5s", "1h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"5s\": %v", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("duration %q: want a positive duration like \"5s\"", s)
	}
	*d = Duration(v)
	return nil
}

// MaxConfigBytes bounds the configuration file.
const MaxConfigBytes = 1 << 20

// ParseConfig reads a configuration; dir resolves relative file names.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("trusted issuers: the file is larger than %d bytes", MaxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("trusted issuers: %v", err)
	}
	if dec.More() {
		return nil, errors.New("trusted issuers: data after the JSON object")
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		if err := healthcard.CheckIssuerURL(is.Iss, true); err != nil {
			return nil, fmt.Errorf("trusted issuers: issuers[%d].iss: %v", i, err)
		}
		if seen[is.Iss] {
			return nil, fmt.Errorf("trusted issuers: issuers[%d]: %s is listed twice", i, is.Iss)
		}
		seen[is.Iss] = true
		if is.JWKSFile == "" && len(is.CRLFiles) > 0 {
			return nil, fmt.Errorf("trusted issuers: issuers[%d]: crl_files need jwks_file (online issuers publish their lists)", i)
		}
	}
	return &c, nil
}

// Store is the trust list, safe for concurrent use.
type Store struct {
	static   healthcard.StaticTrust
	online   map[string]*onlineIssuer
	client   *http.Client
	cacheFor time.Duration
	now      func() time.Time
}

type onlineIssuer struct {
	cfg     IssuerConfig
	mu      sync.Mutex
	keys    []*healthcard.Key
	fetched time.Time
	lastTry time.Time
	crls    map[string]*healthcard.CRL
}

// Load reads a configuration file and the key and revocation files it names.
func Load(path string) (*Store, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trusted issuers: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	return New(c, filepath.Dir(path))
}

// New builds the trust list of c; dir resolves relative file names.
func New(c *Config, dir string) (*Store, error) {
	timeout := time.Duration(c.FetchTimeout)
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	cacheFor := time.Duration(c.CacheFor)
	if cacheFor == 0 {
		cacheFor = time.Hour
	}
	s := &Store{static: healthcard.StaticTrust{}, online: map[string]*onlineIssuer{}, client: &http.Client{Timeout: timeout}, cacheFor: cacheFor, now: time.Now}
	for _, is := range c.Issuers {
		if is.JWKSFile == "" {
			s.online[is.Iss] = &onlineIssuer{cfg: is, crls: map[string]*healthcard.CRL{}}
			continue
		}
		data, err := os.ReadFile(resolve(dir, is.JWKSFile))
		if err != nil {
			return nil, fmt.Errorf("trusted issuers: %s: %w", is.Iss, err)
		}
		keys, err := healthcard.ParseJWKS(data)
		if err != nil {
			return nil, fmt.Errorf("trusted issuers: %s: %s: %v", is.Iss, is.JWKSFile, err)
		}
		st := &healthcard.Issuer{URL: is.Iss, Name: is.Name, Keys: keys, CRLs: map[string]*healthcard.CRL{}}
		for _, f := range is.CRLFiles {
			data, err := os.ReadFile(resolve(dir, f))
			if err != nil {
				return nil, fmt.Errorf("trusted issuers: %s: %w", is.Iss, err)
			}
			var head struct {
				Kid string `json:"kid"`
			}
			_ = json.Unmarshal(data, &head)
			crl, err := healthcard.ParseCRL(data, head.Kid)
			if err != nil {
				return nil, fmt.Errorf("trusted issuers: %s: %s: %v", is.Iss, f, err)
			}
			st.CRLs[crl.Kid] = crl
		}
		s.static.Add(st)
	}
	return s, nil
}

func resolve(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// Key implements healthcard.Trust.
func (s *Store) Key(ctx context.Context, iss, kid string) (*healthcard.Key, error) {
	if _, ok := s.static[iss]; ok {
		return s.static.Key(ctx, iss, kid)
	}
	o := s.online[iss]
	if o == nil {
		return nil, healthcard.ErrUntrustedIssuer
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := s.now()
	stale := o.keys == nil || now.Sub(o.fetched) > s.cacheFor
	for attempt := 0; ; attempt++ {
		if stale {
			if err := s.fetchKeys(ctx, o, now); err != nil && o.keys == nil {
				return nil, err
			}
		}
		for _, k := range o.keys {
			if k.ID == kid {
				return k, nil
			}
		}
		// An unknown kid may be a new key: fetch again, at most every 30 s.
		if attempt > 0 || now.Sub(o.lastTry) < 30*time.Second {
			return nil, healthcard.ErrUnknownKey
		}
		stale = true
	}
}

func (s *Store) fetchKeys(ctx context.Context, o *onlineIssuer, now time.Time) error {
	o.lastTry = now
	data, err := s.get(ctx, o.cfg.Iss+"/.well-known/jwks.json", healthcard.MaxJWKSBytes)
	if err != nil {
		return err
	}
	keys, err := healthcard.ParseJWKS(data)
	if err != nil {
		return fmt.Errorf("%s/.well-known/jwks.json: %v", o.cfg.Iss, err)
	}
	o.keys, o.fetched = keys, now
	return nil
}

func (s *Store) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: HTTP %d", url, res.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %v", url, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("fetching %s: larger than %d bytes", url, limit)
	}
	return data, nil
}

// CRL implements healthcard.Trust: the list at hand, or fetched when the
// key's crlVersion is newer than the cached one.
func (s *Store) CRL(ctx context.Context, iss string, k *healthcard.Key) (*healthcard.CRL, error) {
	if _, ok := s.static[iss]; ok {
		return s.static.CRL(ctx, iss, k)
	}
	o := s.online[iss]
	if o == nil {
		return nil, healthcard.ErrUntrustedIssuer
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.crls[k.ID]; c != nil && c.Ctr >= k.CRLVersion {
		return c, nil
	}
	data, err := s.get(ctx, iss+"/.well-known/crl/"+k.ID+".json", healthcard.MaxCRLBytes)
	if err != nil {
		return nil, err
	}
	c, err := healthcard.ParseCRL(data, k.ID)
	if err != nil {
		return nil, err
	}
	o.crls[k.ID] = c
	return c, nil
}

// Name implements healthcard.Trust.
func (s *Store) Name(iss string) string {
	if o := s.online[iss]; o != nil {
		return o.cfg.Name
	}
	return s.static.Name(iss)
}

// Issuers lists the trusted issuer URLs.
func (s *Store) Issuers() []string {
	var out []string
	for iss := range s.static {
		out = append(out, iss)
	}
	for iss := range s.online {
		out = append(out, iss)
	}
	return out
}
