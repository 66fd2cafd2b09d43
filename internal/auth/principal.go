// Package auth is who is asking and what they may do: the verified token's
// principal, its SMART on FHIR scopes
// (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html) and
// its permission to see confidential (security-labelled) data. The HTTP layer
// puts a Principal in the request context; the interactions and the store
// read it from there, so a check can never be skipped by a new route.
package auth

import (
	"context"
	"slices"
	"strings"
)

// Action is what an interaction does to data, in SMART v2 letters.
type Action byte

// SMART v2 actions (c, r, u, d, s).
const (
	Create Action = 'c'
	Read   Action = 'r'
	Update Action = 'u'
	Delete Action = 'd'
	Search Action = 's'
)

// Context is a scope's launch context: patient/, user/ or system/.
type Context string

// Scope contexts.
const (
	PatientContext Context = "patient"
	UserContext    Context = "user"
	SystemContext  Context = "system"
)

// Scope is one parsed SMART resource scope ("patient/Observation.rs").
type Scope struct {
	Context Context
	Type    string // resource type or "*"
	Actions string // SMART v2 letters, in cruds order
}

// ParseScope reads a SMART v2 ("user/Observation.rs") or v1
// ("user/Observation.read", ".write", ".*") resource scope. ok is false for
// anything else (openid, launch, Mekong's own scopes...), which is not an
// error: tokens carry scopes for other servers too.
func ParseScope(s string) (Scope, bool) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Scope{}, false
	}
	switch Context(ctx) {
	case PatientContext, UserContext, SystemContext:
	default:
		return Scope{}, false
	}
	typ, perm, ok := strings.Cut(rest, ".")
	if !ok || typ == "" {
		return Scope{}, false
	}
	// v2 permissions may carry a query ("Observation.rs?category=..."); it
	// narrows the scope, which Mekong does not apply, so such a scope grants
	// nothing rather than more than it says.
	if strings.Contains(perm, "?") {
		return Scope{}, false
	}
	var actions string
	switch perm {
	case "read":
		actions = "rs"
	case "write":
		actions = "cud"
	case "*":
		actions = "cruds"
	default:
		// v2: a non-empty subsequence of "cruds", in that order.
		i := 0
		for _, r := range perm {
			j := strings.IndexRune("cruds"[i:], r)
			if j < 0 {
				return Scope{}, false
			}
			i += j + 1
		}
		if perm == "" {
			return Scope{}, false
		}
		actions = perm
	}
	return Scope{Context: Context(ctx), Type: typ, Actions: actions}, true
}

// Allows reports whether the scope grants a on resources of typ.
func (s Scope) Allows(typ string, a Action) bool {
	return (s.Type == "*" || s.Type == typ) && strings.IndexByte(s.Actions, byte(a)) >= 0
}

// Principal is the verified caller of one request.
type Principal struct {
	// Issuer and Subject identify the token's user ("sub").
	Issuer  string
	Subject string
	// ClientID is the OAuth client ("client_id", else "azp").
	ClientID string
	// Organization is the client's organization (Organization/<id> or an
	// identifier), recorded as the agent of every write and access.
	Organization string
	// Scopes are the token's parsed SMART resource scopes.
	Scopes []Scope
	// RawScopes are all of the token's scopes, for audit.
	RawScopes []string
	// Patient is the launch context's patient id; patient/ scopes are
	// limited to that patient's compartment.
	Patient string
	// Labels are the security labels ("system|code") the caller may see;
	// resources carrying any other restricted label do not exist for it.
	Labels []string
	// PurposeOfUse is the stated purpose (v3-PurposeOfUse codes), when given.
	PurposeOfUse []string
	// TokenID is the token's "jti", for audit correlation.
	TokenID string
	// Unauthenticated is set when the server runs with --auth none: every
	// check passes. It exists for local experiments only.
	Unauthenticated bool
}

// Allows reports whether any of p's scopes grants a on typ.
func (p *Principal) Allows(typ string, a Action) bool {
	if p == nil {
		return false
	}
	if p.Unauthenticated {
		return true
	}
	for _, s := range p.Scopes {
		if s.Allows(typ, a) {
			return true
		}
	}
	return false
}

// PatientOnly reports whether p's access to typ with a comes only from
// patient/ scopes, so it is limited to p.Patient's compartment.
func (p *Principal) PatientOnly(typ string, a Action) bool {
	if p == nil || p.Unauthenticated {
		return false
	}
	patient := false
	for _, s := range p.Scopes {
		if !s.Allows(typ, a) {
			continue
		}
		if s.Context != PatientContext {
			return false
		}
		patient = true
	}
	return patient
}

// MaySee reports whether p may see data carrying the label "system|code".
func (p *Principal) MaySee(label string) bool {
	if p == nil {
		return false
	}
	if p.Unauthenticated {
		return true
	}
	for _, l := range p.Labels {
		if l == label {
			return true
		}
	}
	return false
}

// MayBreakGlass reports whether p's scopes include BreakGlassScope.
func (p *Principal) MayBreakGlass() bool {
	if p == nil || p.Unauthenticated {
		return false
	}
	for _, s := range p.RawScopes {
		if s == BreakGlassScope {
			return true
		}
	}
	return false
}

// IdentitySteward reports whether p holds the identity steward's scope
// (IdentityScope).
func (p *Principal) IdentitySteward() bool {
	if p == nil {
		return false
	}
	return p.Unauthenticated || slices.Contains(p.RawScopes, IdentityScope)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, or nil when none was set
// (code running outside a request, such as the command line's import).
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
