package healthcard

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Trust is a verifier's list of trusted issuers and their keys and
// revocation lists (the trust package reads it from configuration).
type Trust interface {
	// Key returns the key kid of the trusted issuer iss. It is
	// ErrUntrustedIssuer when iss is not trusted and ErrUnknownKey when iss
	// publishes no such key.
	Key(ctx context.Context, iss, kid string) (*Key, error)
	// CRL returns the revocation list of k (only asked when k.CRLVersion > 0).
	CRL(ctx context.Context, iss string, k *Key) (*CRL, error)
	// Name is a trusted issuer's name for people ("" when none is configured).
	Name(iss string) string
}

// Trust errors.
var (
	ErrUntrustedIssuer = errors.New("the issuer is not in the trusted issuers")
	ErrUnknownKey      = errors.New("the issuer publishes no key with this kid")
)

// Status is a verification's verdict.
type Status int

// Verdicts. The command line's exit codes are these numbers.
const (
	Valid         Status = 0
	Invalid       Status = 1
	UnknownIssuer Status = 2
)

func (s Status) String() string {
	switch s {
	case Valid:
		return "valid"
	case UnknownIssuer:
		return "unknown issuer"
	}
	return "invalid"
}

// CheckState is the outcome of one check.
type CheckState string

// Check outcomes.
const (
	Passed     CheckState = "passed"
	Failed     CheckState = "failed"
	NotChecked CheckState = "not checked"
)

// Check is one check of a card, explained.
type Check struct {
	State  CheckState
	Detail string
}

// Result is what a verification found.
type Result struct {
	Status Status
	// Problem says why the card is not valid ("" when it is).
	Problem string
	// JWS is the parsed card (nil when it could not be read at all).
	JWS        *JWS
	Issuer     string
	IssuerName string
	Signature  Check
	Expiry     Check
	Revocation Check
}

// Bundle is the card's fhirBundle (nil when the card could not be read).
func (r *Result) Bundle() []byte {
	if r.JWS == nil {
		return nil
	}
	return r.JWS.Claims.VC.CredentialSubject.FHIRBundle
}

// Verifier checks cards against a Trust.
type Verifier struct {
	Trust Trust
	// Now is the verification time (time.Now when nil).
	Now func() time.Time
	// Skew is the clock difference tolerated for nbf (default 5 minutes).
	Skew time.Duration
}

// Verify reads and checks a card (cards-specification.md): the issuer is
// trusted, the signature matches its key named by kid, the card is not
// before its nbf nor after its exp, and its rid is not on the key's
// revocation list. Any failure makes it Invalid; an issuer that is not
// trusted makes it UnknownIssuer.
func (v *Verifier) Verify(ctx context.Context, jws string) *Result {
	r := &Result{Signature: Check{State: NotChecked}, Expiry: Check{State: NotChecked}, Revocation: Check{State: NotChecked}}
	j, err := ParseJWS(jws)
	if err != nil {
		r.Status, r.Problem = Invalid, "not a SMART Health Card: "+err.Error()
		return r
	}
	r.JWS, r.Issuer = j, j.Claims.Issuer
	if v.Trust != nil {
		r.IssuerName = v.Trust.Name(r.Issuer)
	}
	var key *Key
	if v.Trust != nil {
		key, err = v.Trust.Key(ctx, j.Claims.Issuer, j.Header.Kid)
	} else {
		err = ErrUntrustedIssuer
	}
	switch {
	case errors.Is(err, ErrUntrustedIssuer):
		r.Status, r.Problem = UnknownIssuer, fmt.Sprintf("issuer %s is not trusted here; its signature was not checked", r.Issuer)
		r.Signature.Detail = "the issuer is not trusted"
		return r
	case errors.Is(err, ErrUnknownKey):
		r.Signature = Check{State: Failed, Detail: fmt.Sprintf("issuer %s has no key %s: the card was not signed by this issuer", r.Issuer, j.Header.Kid)}
		r.Status, r.Problem = Invalid, r.Signature.Detail
		return r
	case err != nil:
		r.Signature = Check{State: NotChecked, Detail: "the issuer's keys could not be read: " + err.Error()}
		r.Status, r.Problem = Invalid, r.Signature.Detail
		return r
	}
	if err := j.CheckSignature(key); err != nil {
		r.Signature = Check{State: Failed, Detail: err.Error()}
		r.Status, r.Problem = Invalid, err.Error()
		return r
	}
	r.Signature = Check{State: Passed, Detail: "signed by " + r.Issuer + " with key " + key.ID}

	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.Skew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	nbf, exp := j.IssuedAt(), j.ExpiresAt()
	switch {
	case nbf.After(now.Add(skew)):
		r.Expiry = Check{State: Failed, Detail: "issued in the future (" + nbf.Format(time.RFC3339) + ")"}
	case !exp.IsZero() && !now.Before(exp):
		r.Expiry = Check{State: Failed, Detail: "expired on " + exp.Format(time.RFC3339)}
	case exp.IsZero():
		r.Expiry = Check{State: Passed, Detail: "does not expire"}
	default:
		r.Expiry = Check{State: Passed, Detail: "valid until " + exp.Format(time.RFC3339)}
	}

	rid := j.Claims.VC.RID
	switch {
	case key.CRLVersion == 0:
		r.Revocation = Check{State: Passed, Detail: "the issuer publishes no revocation list for this key"}
	case rid == "":
		r.Revocation = Check{State: Passed, Detail: "the card has no revocation id"}
	default:
		crl, err := v.Trust.CRL(ctx, r.Issuer, key)
		switch {
		case err != nil:
			r.Revocation = Check{State: NotChecked, Detail: "the revocation list could not be read: " + err.Error()}
		case crl.Revokes(rid, *j.Claims.NotBefore):
			r.Revocation = Check{State: Failed, Detail: "revoked by the issuer (revocation list " + crlVersion(crl) + ")"}
		default:
			r.Revocation = Check{State: Passed, Detail: "not revoked (revocation list " + crlVersion(crl) + ")"}
		}
	}
	for _, c := range []Check{r.Expiry, r.Revocation} {
		if c.State != Passed && r.Problem == "" {
			r.Status, r.Problem = Invalid, c.Detail
		}
	}
	return r
}

func crlVersion(c *CRL) string { return fmt.Sprintf("version %d", c.Ctr) }
