package healthcard

import (
	"context"
	"fmt"
)

// Issuer is a trusted issuer with its keys at hand.
type Issuer struct {
	URL  string
	Name string
	Keys []*Key
	// CRLs are the revocation lists by kid.
	CRLs map[string]*CRL
}

// StaticTrust trusts issuers whose keys and revocation lists are already
// known: the server's own, or those read from files at an offline border
// post.
type StaticTrust map[string]*Issuer

// Add trusts is (replacing an issuer of the same URL).
func (t StaticTrust) Add(is *Issuer) { t[is.URL] = is }

// Key implements Trust.
func (t StaticTrust) Key(_ context.Context, iss, kid string) (*Key, error) {
	is := t[iss]
	if is == nil {
		return nil, ErrUntrustedIssuer
	}
	for _, k := range is.Keys {
		if k.ID == kid {
			return k, nil
		}
	}
	return nil, ErrUnknownKey
}

// CRL implements Trust.
func (t StaticTrust) CRL(_ context.Context, iss string, k *Key) (*CRL, error) {
	is := t[iss]
	if is == nil {
		return nil, ErrUntrustedIssuer
	}
	c := is.CRLs[k.ID]
	if c == nil {
		return nil, fmt.Errorf("no revocation list of key %s is at hand (crlVersion %d)", k.ID, k.CRLVersion)
	}
	if c.Ctr < k.CRLVersion {
		return nil, fmt.Errorf("the revocation list at hand is version %d; the issuer published version %d", c.Ctr, k.CRLVersion)
	}
	return c, nil
}

// Name implements Trust.
func (t StaticTrust) Name(iss string) string {
	if is := t[iss]; is != nil {
		return is.Name
	}
	return ""
}

// Chain asks each Trust in turn: the first that trusts an issuer answers.
type Chain []Trust

// Key implements Trust.
func (c Chain) Key(ctx context.Context, iss, kid string) (*Key, error) {
	for _, t := range c {
		k, err := t.Key(ctx, iss, kid)
		if err != ErrUntrustedIssuer {
			return k, err
		}
	}
	return nil, ErrUntrustedIssuer
}

// CRL implements Trust.
func (c Chain) CRL(ctx context.Context, iss string, k *Key) (*CRL, error) {
	for _, t := range c {
		crl, err := t.CRL(ctx, iss, k)
		if err != ErrUntrustedIssuer {
			return crl, err
		}
	}
	return nil, ErrUntrustedIssuer
}

// Name implements Trust.
func (c Chain) Name(iss string) string {
	for _, t := range c {
		if n := t.Name(iss); n != "" {
			return n
		}
	}
	return ""
}
