// Package rest implements the FHIR RESTful interactions
// (https://hl7.org/fhir/R4/http.html) independently of HTTP: each takes a
// Request and returns a Response or an *outcome.Error. The HTTP layer only
// maps these to status codes and headers, and batch/transaction entries (a
// later capability) go back through the same functions.
package rest

import (
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Service carries out interactions on a store.
type Service struct {
	store  store.Store
	log    store.AuditLog
	parser *resource.Parser
	reg    *search.Registry
	types  map[string]bool
	audit  *audit.Builder
	// grants are the break-the-glass grants (nil: a store without them).
	grants store.BreakGlass
	// NewID assigns ids to created resources.
	NewID func() string
	// Policy says which labels are restricted and which resources are
	// labelled on write; New sets DefaultPolicy.
	Policy Policy
	// ident links the records of one person (identity.go); nil when the
	// store keeps no identity links.
	ident *identity
	// ReferentialIntegrity refuses writes whose local references name no
	// resource (integrity.go); New turns it on.
	ReferentialIntegrity bool
	// cards issues and verifies SMART Health Cards (EnableHealthCards).
	cards *cardService
	// IPS configures the documents of Patient/$summary.
	IPS IPSOptions
	// MatchObserver, when set, is told how long each $match probe spent
	// finding and grading candidates (the /metrics histogram
	// mekong_match_duration_seconds).
	MatchObserver func(time.Duration)
}

// New returns a service for the registry's resource types, plus the
// read-only Provenance and AuditEvent that record every write and access.
func New(s store.Store, p *resource.Parser, reg *search.Registry) *Service {
	reg = withRecordTypes(reg)
	m := map[string]bool{}
	for _, t := range reg.Types() {
		m[t] = true
	}
	svc := &Service{parser: p, reg: reg, types: m, NewID: newID, Policy: DefaultPolicy(), audit: audit.NewBuilder(reg, newID),
		ReferentialIntegrity: true}
	svc.store = &recorder{Store: s, svc: svc}
	svc.grants, _ = s.(store.BreakGlass)
	svc.ident = newIdentity(s)
	svc.log, _ = s.(store.AuditLog)
	return svc
}

// Records builds the AuditEvents the HTTP layer writes for reads and
// searches, indexed like those written with the data.
func (s *Service) Records() *audit.Builder { return s.audit }

// Registry is the search parameter registry the service indexes and searches with.
func (s *Service) Registry() *search.Registry { return s.reg }

// newID returns a UUIDv7: time-ordered, so new rows land at the right edge of
// the primary-key B-tree instead of splitting pages all over it.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Types lists the resource types served, sorted.
func (s *Service) Types() []string {
	out := make([]string, 0, len(s.types))
	for t := range s.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Request is one interaction's input.
type Request struct {
	// Base is the service base URL ("http://host/fhir"), for fullUrl and links.
	Base      string
	Type      string
	ID        string
	VersionID int64
	Body      []byte
	// ContentType is the body's media type without parameters; it tells a
	// JSON Patch from a FHIRPath Patch.
	ContentType string
	// Preconditions (https://hl7.org/fhir/R4/http.html#concurrency, #ccreate).
	IfMatch     string
	IfNoneMatch string
	IfNoneExist string
	// Query is the request's query parameters (with a POST _search's form).
	Query url.Values
	// Strict is Prefer: handling=strict: unknown search parameters are 400.
	Strict bool
	// Tenant is the owning source or organization of written data.
	Tenant string
}

// Response is one interaction's result.
type Response struct {
	Status int
	// Version is the resource version the response concerns (ETag, Location, Last-Modified).
	Version *store.Version
	// Body is the resource or Bundle JSON; nil when there is none.
	Body []byte
	// Issues, when set, are an OperationOutcome describing the result.
	Issues []outcome.Issue
	// Location is set for creates.
	Location string
}

func (s *Service) checkType(typ string) error {
	if !s.types[typ] {
		return outcome.NotFound("resource type %q is not served here; supported types: %v", typ, s.Types())
	}
	return nil
}

func checkID(id string) error {
	if !resource.ValidID(id) {
		return outcome.Invalid("invalid id %q: a FHIR id is 1-64 characters of A-Z, a-z, 0-9, '-' and '.'", id)
	}
	return nil
}

// Location returns the version-specific URL of v.
func Location(base string, v *store.Version) string {
	return base + "/" + v.Type + "/" + v.ID + "/_history/" + itoa(v.VersionID)
}

// ETag returns the weak ETag of a version (https://hl7.org/fhir/R4/http.html#versioning).
func ETag(v *store.Version) string { return `W/"` + itoa(v.VersionID) + `"` }

// LastModified formats a version's time for the Last-Modified header.
func LastModified(v *store.Version) string { return v.LastUpdated.UTC().Format(http.TimeFormat) }

func gone(v *store.Version) error {
	return outcome.Gone("%s/%s was deleted at %s (version %d)", v.Type, v.ID, resource.FormatInstant(v.LastUpdated), v.VersionID).
		WithHeader("ETag", ETag(v)).WithHeader("Last-Modified", LastModified(v))
}

func now() time.Time { return time.Now() }
