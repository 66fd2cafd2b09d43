package healthcard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RID is a card's revocation identifier (cards-specification.md,
// "Revocation"): base64url of the first 64 bits of
// HMAC-SHA-256(secret || kid, userID). Mekong uses the Patient id as the
// user id, so every card of one person under one key shares a rid, and a
// timestamped CRL entry revokes the cards issued before it.
func RID(secret []byte, kid, userID string) string {
	key := append(append([]byte(nil), secret...), kid...)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

// validRID reports whether s is at most 24 base64url characters.
func validRID(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBase64URL(s[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// CRL is a key's Card Revocation List, served at
// [issuer]/.well-known/crl/[kid].json.
type CRL struct {
	Kid    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    int      `json:"ctr"`
	RIDs   []string `json:"rids"`
}

// Revocation is one revoked rid; Before, when set, limits it to the cards
// issued (nbf) before that instant.
type Revocation struct {
	RID    string
	Before time.Time
}

// Entry is the rid as a CRL lists it: "rid" or "rid.timestamp".
func (r Revocation) Entry() string {
	if r.Before.IsZero() {
		return r.RID
	}
	return r.RID + "." + strconv.FormatInt(r.Before.Unix(), 10)
}

// NewCRL is the list of a key with its revocations; ctr is the number of
// updates, starting at 1.
func NewCRL(kid string, ctr int, revs []Revocation) *CRL {
	c := &CRL{Kid: kid, Method: "rid", Ctr: ctr, RIDs: []string{}}
	for _, r := range revs {
		c.RIDs = append(c.RIDs, r.Entry())
	}
	return c
}

// MaxCRLBytes bounds a revocation list read from outside.
const MaxCRLBytes = 4 << 20

// ParseCRL reads a revocation list and checks it is the list of kid.
func ParseCRL(data []byte, kid string) (*CRL, error) {
	if len(data) > MaxCRLBytes {
		return nil, fmt.Errorf("the revocation list is larger than %d bytes", MaxCRLBytes)
	}
	var c CRL
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("not a revocation list: %v", err)
	}
	switch {
	case c.Kid != kid:
		return nil, fmt.Errorf("the revocation list is for key %q, not %q", c.Kid, kid)
	case c.Method != "rid":
		return nil, fmt.Errorf("revocation method %q is not supported (only \"rid\")", c.Method)
	case c.Ctr < 1:
		return nil, fmt.Errorf("revocation list counter %d: it starts at 1", c.Ctr)
	}
	for _, e := range c.RIDs {
		rid, ts, _ := strings.Cut(e, ".")
		if !validRID(rid) {
			return nil, fmt.Errorf("revocation list entry %q is not a rid of at most 24 base64url characters", e)
		}
		if ts != "" {
			if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
				return nil, fmt.Errorf("revocation list entry %q: the timestamp is not whole seconds", e)
			}
		}
	}
	return &c, nil
}

// Revokes reports whether the list revokes a card with rid issued at nbf
// (seconds since the epoch; the examples' are fractional): a plain entry
// revokes every such card, "rid.ts" those with nbf before ts.
func (c *CRL) Revokes(rid string, nbf float64) bool {
	if rid == "" {
		return false
	}
	for _, e := range c.RIDs {
		r, ts, timed := strings.Cut(e, ".")
		if r != rid {
			continue
		}
		if !timed {
			return true
		}
		t, err := strconv.ParseInt(ts, 10, 64)
		if err == nil && nbf < float64(t) {
			return true
		}
	}
	return false
}

var errNoRID = errors.New("no rid")

func epoch(t time.Time) float64 { return float64(t.Unix()) }

func fromEpoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
