package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/store"
)

// $match counts.
const (
	DefaultMatchCount = 10
	MaxMatchCount     = 100
)

// MatchCandidate is one Patient a probe matches (CONTRACTS §2).
type MatchCandidate struct {
	Version  store.Version
	Score    float64
	Grade    string
	Evidence []match.Evidence
}

// MatchPatients runs the matcher for a probe Patient (JSON) with the
// caller's access: candidates come from the probe's blocking keys and only
// Patients the caller may search are ever read, compared, counted or
// returned. The answer is best first; with onlyCertain only certain matches,
// and none when they are not all one person (one linked set): R4's "if there
// are multiple potential matches, then the match should not return the
// results". count caps the answer (1..MaxMatchCount). Every call is
// audited as a query naming the Patients returned.
func (s *Service) MatchPatients(ctx context.Context, probe []byte, onlyCertain bool, count int) ([]MatchCandidate, error) {
	got, _, err := s.matchPatients(ctx, probe, onlyCertain, count)
	return got, err
}

func (s *Service) matchPatients(ctx context.Context, probe []byte, onlyCertain bool, count int) ([]MatchCandidate, []outcome.Issue, error) {
	if s.ident == nil {
		return nil, nil, outcome.NotSupported(http.StatusNotImplemented, "Patient matching needs a store that keeps identity links")
	}
	if count < 1 || count > MaxMatchCount {
		return nil, nil, outcome.Invalid("count %d is out of range: from 1 to %d", count, MaxMatchCount).At("count")
	}
	ctx, err := s.authorize(ctx, store.LinkedType, auth.Search)
	if err != nil {
		return nil, nil, err
	}
	rec, err := match.ParsePatient("", probe)
	if err != nil {
		return nil, nil, outcome.Invalid("the resource parameter is not a Patient: %v", err).At("resource")
	}
	keys := s.ident.engine.ProbeKeys(rec)
	if len(keys) == 0 {
		return nil, nil, outcome.Invalid("the Patient has nothing to match on: give at least a name, an identifier or a birth date").At("resource")
	}
	id := s.ident
	if s.MatchObserver != nil {
		start := time.Now()
		defer func() { s.MatchObserver(time.Since(start)) }()
	}
	cands, c, err := id.candidates(ctx, store.CandidateQuery{Keys: keys, PerKey: id.opts.PerKey, Limit: id.opts.Candidates})
	rec = id.prepare(rec) // compared with every candidate: readied once
	if err != nil {
		return nil, nil, err
	}
	var issues []outcome.Issue
	if c.Skipped > 0 || c.Truncated {
		issues = append(issues, outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeIncomplete,
			Diagnostics: "some of the Patient's details are shared by too many records to compare them all; add identifiers or a full birth date to narrow the match"})
	}
	// Comparing is the CPU work of a $match (hundreds of candidates for a
	// common name): on every core, in chunks.
	results := make([]match.Result, len(cands))
	chunks := min(runtime.GOMAXPROCS(0), (len(cands)+63)/64)
	err = parallel(chunks, func(c int) error {
		for i := c; i < len(cands); i += chunks {
			results[i] = id.engine.Compare(rec, cands[i].rec)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []MatchCandidate
	for i, r := range results {
		if r.Grade == "" || (onlyCertain && r.Grade != "certain") {
			continue
		}
		out = append(out, MatchCandidate{Version: cands[i].v, Score: r.Score, Grade: string(r.Grade), Evidence: r.Evidence})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Version.ID < out[j].Version.ID
	})
	if onlyCertain && len(out) > 1 {
		one, err := s.oneLinkedSet(ctx, out)
		if err != nil {
			return nil, nil, err
		}
		if !one {
			issues = append(issues, outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeMultiple,
				Diagnostics: fmt.Sprintf("%d Patients match with certainty but are not linked as one person: with onlyCertainMatches none is returned; match without it and review them", len(out))})
			out = nil
		}
	}
	if len(out) > count {
		out = out[:count]
	}
	if out, err = id.withContent(ctx, out); err != nil {
		return nil, nil, err
	}
	returned := make([]store.Version, len(out))
	for i := range out {
		returned[i] = out[i].Version
	}
	q := url.Values{"count": {strconv.Itoa(count)}}
	if onlyCertain {
		q.Set("onlyCertainMatches", "true")
	}
	// The probe's names and identifiers are not in the record of the query:
	// the Patients returned are.
	noteAccess(ctx, audit.Event{Action: audit.ActionExecute, Interaction: "operation", Type: store.LinkedType,
		Query: "$match?" + q.Encode()}, returned)
	return out, issues, nil
}

// oneLinkedSet reports whether the candidates are all members of one
// linked set (one person with several records).
func (s *Service) oneLinkedSet(ctx context.Context, cs []MatchCandidate) (bool, error) {
	set, err := s.ident.st.LinkedComponent(ctx, cs[0].Version.ID, 4*s.ident.opts.MaxSet)
	if err != nil {
		return false, err
	}
	for _, c := range cs[1:] {
		if !slices.Contains(set, c.Version.ID) {
			return false, nil
		}
	}
	return true, nil
}

// Match: POST [base]/Patient/$match
// (https://hl7.org/fhir/R4/patient-operation-match.html). The body is a
// Parameters with resource (a Patient; it need not be valid for storage),
// onlyCertainMatches and count; a bare Patient is accepted too, with the
// other two as URL parameters. The answer is a searchset Bundle, best match
// first, each entry with search.mode match, search.score and the
// match-grade extension.
func (s *Service) Match(ctx context.Context, r Request) (*Response, error) {
	if r.Type != store.LinkedType {
		return nil, outcome.New(http.StatusNotFound, outcome.CodeNotSupported, "$match is defined for Patient only (POST /Patient/$match)")
	}
	in, err := matchInput(r)
	if err != nil {
		return nil, err
	}
	got, issues, err := s.matchPatients(ctx, in.probe, in.onlyCertain, in.count)
	if err != nil {
		return nil, err
	}
	b := bundle.Bundle{Type: "searchset", Timestamp: now()}
	n := len(got)
	b.Total = &n
	b.Links = []bundle.Link{{Relation: "self", URL: r.Base + "/Patient/$match"}}
	if len(issues) > 0 {
		b.Entries = append(b.Entries, bundle.Entry{Resource: outcome.JSON(issues), Mode: "outcome"})
	}
	for i := range got {
		c := &got[i]
		score := math.Round(c.Score*10000) / 10000
		b.Entries = append(b.Entries, bundle.Entry{FullURL: r.Base + "/Patient/" + c.Version.ID, Resource: c.Version.Content,
			Mode: "match", Score: &score, MatchGrade: c.Grade})
	}
	return &Response{Status: http.StatusOK, Body: b.JSON()}, nil
}

type matchIn struct {
	probe       []byte
	onlyCertain bool
	count       int
}

// parameter is one Parameters.parameter of an operation's input.
type parameter struct {
	Name           string          `json:"name"`
	Resource       json.RawMessage `json:"resource"`
	ValueBoolean   *bool           `json:"valueBoolean"`
	ValueInteger   *int64          `json:"valueInteger"`
	ValueString    *string         `json:"valueString"`
	ValueCode      *string         `json:"valueCode"`
	ValueReference *struct {
		Reference string `json:"reference"`
	} `json:"valueReference"`
}

// operationInput reads a Parameters body: its parameters by name, each at
// most once, refusing names the operation does not take. A body that is
// not JSON, or not a Parameters, is a 400 naming what is wrong.
func operationInput(body []byte, op string, names ...string) (map[string]*parameter, error) {
	var p struct {
		ResourceType string      `json:"resourceType"`
		Parameter    []parameter `json:"parameter"`
	}
	// A body that is missing or not JSON has none of the parameters: the
	// error names the first, which every operation here requires.
	if len(body) == 0 {
		return nil, outcome.Invalid("$%s needs a Parameters body with %s", op, strings.Join(names, ", ")).At(names[0])
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, outcome.Invalid("the body of $%s is not a Parameters resource in JSON (%v), so %s cannot be read", op, err, names[0]).At(names[0])
	}
	if p.ResourceType != "Parameters" {
		return nil, outcome.Invalid("the body of $%s must be a Parameters resource, not %q", op, p.ResourceType).At("resourceType")
	}
	out := map[string]*parameter{}
	for i := range p.Parameter {
		x := &p.Parameter[i]
		if !slices.Contains(names, x.Name) {
			return nil, outcome.Invalid("%q is not a parameter of $%s (%s)", x.Name, op, strings.Join(names, ", ")).At(x.Name)
		}
		if out[x.Name] != nil {
			return nil, outcome.Invalid("%s is given more than once; $%s takes it once", x.Name, op).At(x.Name)
		}
		out[x.Name] = x
	}
	return out, nil
}

// matchInput reads $match's parameters.
func matchInput(r Request) (*matchIn, error) {
	in := &matchIn{count: DefaultMatchCount}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if len(r.Body) > 0 && json.Unmarshal(r.Body, &head) == nil && head.ResourceType == store.LinkedType {
		// A bare Patient: "POST a patient record to Patient/$match".
		in.probe = r.Body
		if v := r.Query.Get("onlyCertainMatches"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return nil, outcome.Invalid("onlyCertainMatches %q must be true or false", v).At("onlyCertainMatches")
			}
			in.onlyCertain = b
		}
		if v := r.Query.Get("count"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, outcome.Invalid("count %q must be a whole number from 1 to %d", v, MaxMatchCount).At("count")
			}
			in.count = n
		}
		return in, checkProbe(in)
	}
	ps, err := operationInput(r.Body, "match", "resource", "onlyCertainMatches", "count")
	if err != nil {
		return nil, err
	}
	res := ps["resource"]
	if res == nil || len(res.Resource) == 0 {
		return nil, outcome.Invalid("$match needs the resource parameter: the Patient to match").At("resource")
	}
	in.probe = res.Resource
	if p := ps["onlyCertainMatches"]; p != nil {
		if p.ValueBoolean == nil {
			return nil, outcome.Invalid("onlyCertainMatches must be a valueBoolean").At("onlyCertainMatches")
		}
		in.onlyCertain = *p.ValueBoolean
	}
	if p := ps["count"]; p != nil {
		if p.ValueInteger == nil {
			return nil, outcome.Invalid("count must be a valueInteger from 1 to %d", MaxMatchCount).At("count")
		}
		if *p.ValueInteger < 1 || *p.ValueInteger > MaxMatchCount {
			return nil, outcome.Invalid("count %d is out of range: from 1 to %d", *p.ValueInteger, MaxMatchCount).At("count")
		}
		in.count = int(*p.ValueInteger)
	}
	return in, checkProbe(in)
}

// checkProbe: the probe must be a Patient, and its members must have the
// shapes of a Patient's (a name is a list of HumanNames...): a probe need
// not be complete or valid for storage, but a malformed one cannot be
// matched and is refused rather than matched on what could be read of it.
func checkProbe(in *matchIn) error {
	var p struct {
		ResourceType string                    `json:"resourceType"`
		Name         []struct{ Family string } `json:"name"`
		Identifier   []struct {
			System, Value string
		} `json:"identifier"`
		BirthDate string `json:"birthDate"`
		Gender    string `json:"gender"`
	}
	if err := json.Unmarshal(in.probe, &p); err != nil {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(in.probe, &head) == nil && head.ResourceType != store.LinkedType {
			return outcome.Invalid("the resource parameter must be a Patient, not %q", head.ResourceType).At("resource")
		}
		return outcome.Invalid("the resource parameter is not a Patient that can be read: %v", err).At("resource")
	}
	if p.ResourceType != store.LinkedType {
		return outcome.Invalid("the resource parameter must be a Patient, not %q", p.ResourceType).At("resource")
	}
	if in.count < 1 || in.count > MaxMatchCount {
		return outcome.Invalid("count %d is out of range: from 1 to %d", in.count, MaxMatchCount).At("count")
	}
	return nil
}

// withContent reads the stored Patients of the matches returned, which the
// comparison did without (their records were cached). A match deleted in
// between is left out.
func (id *identity) withContent(ctx context.Context, out []MatchCandidate) ([]MatchCandidate, error) {
	var ids []string
	for i := range out {
		if out[i].Version.Content == nil {
			ids = append(ids, out[i].Version.ID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	vs, err := id.st.Patients(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.Version{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	kept := out[:0]
	for _, c := range out {
		if c.Version.Content == nil {
			v, ok := byID[c.Version.ID]
			if !ok {
				continue
			}
			c.Version = v
		}
		kept = append(kept, c)
	}
	return kept, nil
}
