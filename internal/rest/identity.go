package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Identity: the records of one person across sources, linked (issue 11).
//
// The matcher (package match) grades pairs of Patients; this file and the
// identity_*.go files beside it put it to work on the store:
//
//   - every Patient write stores the matcher's blocking keys with its index
//     (index), so candidates are found by key, never by scanning;
//   - every Patient write is queued in its own transaction (by the store, on
//     every write path), and the linker (identity_linker.go) works the queue:
//     certain matches are linked, probable ones queued for review;
//   - links are shown as server-maintained Patient.link (seealso) on every
//     member of a linked set (identity_links.go), kept when a source sends
//     its Patient again;
//   - $match (identity_match.go), the steward's decisions and review queue
//     (identity_steward.go), LinkedSet and searches across a set.

// Engine is what the identity service needs of the matcher; *match.Matcher
// is the product's, tests may give a double.
type Engine interface {
	Keys(match.Record) []string
	ProbeKeys(match.Record) []string
	Compare(a, b match.Record) match.Result
}

// IdentityOptions bound the identity service's work.
type IdentityOptions struct {
	// PerKey is the most Patients one blocking key may bring; a key shared
	// by more is a mega-block and is skipped (default 200).
	PerKey int
	// Candidates caps the Patients compared with one probe (default 500).
	Candidates int
	// MaxSet is the largest linked set the engine makes: a certain match
	// that would grow a set beyond it goes to review instead (default 20).
	MaxSet int
	// Batch is the number of queued Patients the linker decides in one
	// transaction (default 100).
	Batch int
	// Poll is how often the linker looks at the queue when no write of its
	// own instance woke it (writes through another instance, the command
	// line): the bound on the linking delay (default 2s).
	Poll time.Duration
	// CacheSize is the number of Patient versions whose matcher records
	// are kept in memory, prepared for comparison (default 50,000: about
	// 15 MB of generated migrants, more for records with many names;
	// negative: none).
	CacheSize int
}

func (o IdentityOptions) withDefaults() IdentityOptions {
	if o.PerKey <= 0 {
		o.PerKey = 200
	}
	if o.Candidates <= 0 {
		o.Candidates = 500
	}
	if o.MaxSet <= 0 {
		o.MaxSet = 20
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.CacheSize == 0 {
		o.CacheSize = 50000
	}
	return o
}

// identity is the identity service's state.
type identity struct {
	st     store.Identity
	engine Engine
	opts   IdentityOptions
	// wake nudges the linker after a local write.
	wake chan struct{}
	// cache holds the matcher's records of recently compared Patients.
	cache *recordCache
	// keyChecked is set once the engine's key version is recorded.
	keyChecked atomic.Bool
}

// newIdentity enables identity when the store keeps identity links, with
// the matcher's default configuration.
func newIdentity(st store.Store) *identity {
	ist, ok := st.(store.Identity)
	if !ok {
		return nil
	}
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		panic(fmt.Sprintf("rest: the matcher's default configuration is invalid: %v", err)) // embedded; cannot fail at run time
	}
	o := IdentityOptions{}.withDefaults()
	return &identity{st: ist, engine: m, opts: o, wake: make(chan struct{}, 1), cache: newRecordCache(o.CacheSize)}
}

// SetIdentity replaces the matcher and the options (serve's configuration
// file, tests). A nil engine turns identity off: no keys, no linking, no
// $match (for measuring what identity costs). It must be called before the
// service is used.
func (s *Service) SetIdentity(e Engine, o IdentityOptions) {
	if s.ident == nil {
		return
	}
	if e == nil {
		s.ident = nil
		return
	}
	s.ident.engine = e
	s.ident.opts = o.withDefaults()
	// Records depend on nothing the engine is configured with, but a new
	// engine starts from an empty cache all the same.
	s.ident.cache = newRecordCache(s.ident.opts.CacheSize)
	s.ident.keyChecked.Store(false)
}

// IdentityEnabled reports whether the store keeps identity links.
func (s *Service) IdentityEnabled() bool { return s.ident != nil }

// matchKeys are the index rows of a Patient's blocking keys.
func (s *Service) matchKeys(res *resource.Resource, id string) []search.TokenRow {
	if s.ident == nil || res.Type != store.LinkedType {
		return nil
	}
	keys := s.ident.engine.Keys(match.FromPatient(id, res.Member))
	rows := make([]search.TokenRow, len(keys))
	for i, k := range keys {
		rows[i] = search.TokenRow{Param: store.MatchKeyParam, Code: k}
	}
	return rows
}

// WakeLinker tells this instance's linker that Patients were written
// (bulk import, whose new resources bypass the interactions).
func (s *Service) WakeLinker() { s.wakeLinker() }

// wakeLinker tells this instance's linker that a Patient was written.
func (s *Service) wakeLinker() {
	if s.ident == nil {
		return
	}
	select {
	case s.ident.wake <- struct{}{}:
	default:
	}
}

// LinkedSet returns the ids of the Patients linked to id (id first),
// restricted to those the caller in ctx may read (CONTRACTS §2). Without
// the identity feature, or without links, it is []string{id}.
func (s *Service) LinkedSet(ctx context.Context, patientID string) ([]string, error) {
	if s.ident == nil {
		return []string{patientID}, nil
	}
	members, err := s.ident.st.LinkedComponent(ctx, patientID, s.ident.opts.MaxSet+1)
	if err != nil {
		return nil, err
	}
	if len(members) <= 1 {
		return []string{patientID}, nil
	}
	rctx, err := s.authorize(ctx, store.LinkedType, 'r')
	if err != nil {
		return nil, err
	}
	vs, err := s.ident.st.Patients(rctx, members[1:])
	if err != nil {
		return nil, err
	}
	out := []string{patientID}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out, nil
}

// linkExtension marks the links the server maintains on a Patient (its
// linked set), so a client's own links are told apart, and says how sure
// the link is, as Person.link.assurance would
// (http://hl7.org/fhir/R4/valueset-identity-assuranceLevel.html): level4
// for a steward's decision about the two, level3 for the engine's.
const linkExtension = "https://mekong-fhir.github.io/fhir/StructureDefinition/identity-link-assurance"

// patientLink is one element of Patient.link.
type patientLink struct {
	Extension []linkExt `json:"extension,omitempty"`
	Other     struct {
		Reference string `json:"reference"`
	} `json:"other"`
	Type string `json:"type"`
}

type linkExt struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode,omitempty"`
}

func (l *patientLink) serverMaintained() bool {
	return slices.ContainsFunc(l.Extension, func(e linkExt) bool { return e.URL == linkExtension })
}

// splitLinks separates a Patient.link member's elements into the client's
// own (kept as given) and the server's.
func splitLinks(member []byte) (own []json.RawMessage, server []patientLink) {
	if len(member) == 0 {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(member, &raw); err != nil {
		return nil, nil
	}
	for _, r := range raw {
		var l patientLink
		if json.Unmarshal(r, &l) == nil && l.serverMaintained() {
			server = append(server, l)
			continue
		}
		own = append(own, r)
	}
	return own, server
}

// joinLinks is the Patient.link member of a client's links and the
// server's, or nil when there are none.
func joinLinks(own []json.RawMessage, server []patientLink) []byte {
	all := slices.Clone(own)
	for _, l := range server {
		b, _ := fhirjson.Marshal(l)
		all = append(all, b)
	}
	if len(all) == 0 {
		return nil
	}
	b, _ := fhirjson.Marshal(all)
	return b
}

// keepLinks gives a Patient about to be written the server-maintained links
// of the version it replaces (prior, nil for a new Patient) in place of any
// the body claims: a source sending its own version of a linked Patient
// keeps the links, and no client writes one.
func keepLinks(res *resource.Resource, prior []byte) {
	if res.Type != store.LinkedType {
		return
	}
	own, claimed := splitLinks(res.Member("link"))
	var kept []patientLink
	if prior != nil {
		if p, err := resource.Stored(prior); err == nil {
			_, kept = splitLinks(p.Member("link"))
		}
	}
	if len(claimed) == 0 && len(kept) == 0 {
		return
	}
	res.SetMember("link", joinLinks(own, kept))
}

// KeepLinks is keepLinks for the bulk importer, which reads the stored
// versions itself: res (prepared by Prepare for id) gets the links the
// server maintains on prior, the stored version it replaces. When that
// changes res, its index is extracted again and returned with changed set.
func (s *Service) KeepLinks(res *resource.Resource, id string, prior []byte) (*search.Index, bool, error) {
	if s.ident == nil || res.Type != store.LinkedType {
		return nil, false, nil
	}
	before := res.Member("link")
	keepLinks(res, prior)
	if string(before) == string(res.Member("link")) {
		return nil, false, nil
	}
	ix, _, err := s.index(res, id)
	return ix, err == nil, err
}
