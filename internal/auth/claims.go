package auth

import (
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Claims Mekong reads beyond the registered ones.
const (
	// DefaultOrganizationClaim holds the client's organization
	// ("Organization/<id>" or an identifier); configurable per issuer.
	DefaultOrganizationClaim = "mekong_org"
	// PurposeOfUseClaim holds v3-PurposeOfUse codes (a string or a list).
	PurposeOfUseClaim = "purpose_of_use"
	// LabelScopePrefix grants sight of a security label:
	// "mekong/label.HIV", "mekong/label.R", "mekong/label.V",
	// "mekong/label.TB", or "mekong/label.*" for all of them.
	LabelScopePrefix = "mekong/label."
	// BreakGlassScope lets a user open one patient's restricted data for a
	// limited time, giving a reason (break-the-glass, audited as an
	// emergency override). Without it a user never sees more than its
	// label scopes allow.
	BreakGlassScope = "mekong/break-glass"
	// IdentityScope makes the caller an identity steward: it may read the
	// review queue of probable matches and decide which Patients are one
	// person (Patient/$identity-link, $identity-unlink), always with a
	// reason. It grants no access to data by itself: the Patients decided on
	// must also be readable with the token's resource scopes.
	IdentityScope = "mekong/identity"
	// MetricsScope lets a token read GET /metrics on the API's address
	// (Prometheus sends it as its bearer token).
	MetricsScope = "mekong/metrics"
)

// LabelScopes maps the names of label permissions to the labels they
// permit ("system|code").
var LabelScopes = map[string]string{
	"HIV": "http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV",
	"STD": "http://terminology.hl7.org/CodeSystem/v3-ActCode|STD",
	"ETH": "http://terminology.hl7.org/CodeSystem/v3-ActCode|ETH",
	"PSY": "http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY",
	"SDV": "http://terminology.hl7.org/CodeSystem/v3-ActCode|SDV",
	"SEX": "http://terminology.hl7.org/CodeSystem/v3-ActCode|SEX",
	"R":   "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R",
	"V":   "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|V",
	"TB":  "https://mekong-fhir.github.io/CodeSystem/sensitivity|TB",
}

// principalFrom builds the principal of verified claims.
func principalFrom(iss string, c jwt.MapClaims, orgClaim string) *Principal {
	if orgClaim == "" {
		orgClaim = DefaultOrganizationClaim
	}
	p := &Principal{Issuer: iss}
	p.Subject, _ = c.GetSubject()
	p.ClientID = str(c, "client_id")
	if p.ClientID == "" {
		p.ClientID = str(c, "azp")
	}
	p.Organization = str(c, orgClaim)
	p.Patient = str(c, "patient")
	p.TokenID = str(c, "jti")
	p.PurposeOfUse = strs(c, PurposeOfUseClaim)
	// "scope" is a space-separated string (RFC 8693 §4.2); some servers send "scp" as a list.
	scopes := strings.Fields(str(c, "scope"))
	if len(scopes) == 0 {
		scopes = strs(c, "scp")
	}
	p.RawScopes = scopes
	p.Scopes, p.Labels = ParseScopes(scopes)
	return p
}

// ParseScopes reads the SMART resource scopes and the label permissions
// among scopes; other scopes (openid, launch...) are ignored.
func ParseScopes(scopes []string) ([]Scope, []string) {
	var out []Scope
	var labels []string
	seen := map[string]bool{}
	addLabel := func(l string) {
		if !seen[l] {
			seen[l] = true
			labels = append(labels, l)
		}
	}
	for _, s := range scopes {
		if name, ok := strings.CutPrefix(s, LabelScopePrefix); ok {
			if name == "*" {
				for _, l := range sortedLabels() {
					addLabel(l)
				}
			} else if l, ok := LabelScopes[name]; ok {
				addLabel(l)
			}
			continue
		}
		if sc, ok := ParseScope(s); ok {
			out = append(out, sc)
		}
	}
	return out, labels
}

func sortedLabels() []string {
	names := []string{"HIV", "STD", "ETH", "PSY", "SDV", "SEX", "R", "V", "TB"}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = LabelScopes[n]
	}
	return out
}

func str(c jwt.MapClaims, name string) string {
	s, _ := c[name].(string)
	return s
}

func strs(c jwt.MapClaims, name string) []string {
	switch v := c[name].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
