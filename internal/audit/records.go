package audit

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Builder turns events and writes into the store writes that record them:
// audit log rows, and Provenances indexed for search.
type Builder struct {
	reg   *search.Registry
	newID func() string
	// Source names this gateway instance in the events it records.
	Source string
}

// NewBuilder returns a builder indexing with reg (which must serve
// Provenance) and naming records with newID.
func NewBuilder(reg *search.Registry, newID func() string) *Builder {
	return &Builder{reg: reg, newID: newID, Source: InstanceName}
}

// AuditEvents returns the audit log entries of ev (store.Write.Audit), for
// a write's Record hook to commit with the write. status is the HTTP status
// of the access (ev.Status wins when set).
func (b *Builder) AuditEvents(ev Event, req Request, p *auth.Principal, status int, at time.Time) ([]store.Write, error) {
	recs := Records(ev, req, p, status, at, b.Source)
	out := make([]store.Write, len(recs))
	for i := range recs {
		out[i] = store.Write{Type: "AuditEvent", Audit: &recs[i]}
	}
	return out, nil
}

// Render is the BALP AuditEvent of a log row
// (https://profiles.ihe.net/ITI/BALP/), with its id, versionId 1,
// lastUpdated the time recorded, the BALP profile of a successful access and
// the security labels of the data it concerns. A row migrated from before
// the log is served as it was stored.
func Render(r *store.AuditRecord) []byte {
	if len(r.Legacy) > 0 {
		return r.Legacy
	}
	a := auditEventOf(r)
	meta := metaExtra{Security: make([]coding, len(r.Labels))}
	for i, l := range r.Labels {
		meta.Security[i] = coding(l)
	}
	if prof := profileOf(Action(r.Action), a.Outcome, r.Patient); prof != "" {
		meta.Profile = []string{prof}
	}
	raw, err := fhirjson.Marshal(a)
	if err != nil {
		panic(err) // plain strings and structs: cannot fail
	}
	extra, err := fhirjson.Marshal(meta)
	if err != nil {
		panic(err)
	}
	return splice("AuditEvent", raw, extra, r.ID, 1, r.Recorded)
}

type provenance struct {
	Target   []reference `json:"target"`
	Recorded string      `json:"recorded"`
	Reason   []codeable  `json:"reason,omitempty"`
	Activity *codeable   `json:"activity,omitempty"`
	Agent    []provAgent `json:"agent"`
}

type provAgent struct {
	Type       *codeable  `json:"type,omitempty"`
	Who        reference  `json:"who"`
	OnBehalfOf *reference `json:"onBehalfOf,omitempty"`
}

const (
	sysDataOperation = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
	sysProvAgent     = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
)

// Provenance returns the write of the Provenance of version v
// (https://hl7.org/fhir/R4/provenance.html): its target is v's versioned
// reference, its agents the client's organization (author) and the user
// (enterer, on its behalf), its activity the v3-DataOperation, its reason
// the purpose of use. It carries the labels of the data it describes, so
// whoever may not see the data cannot see that it was written either.
func (b *Builder) Provenance(v *store.Version, labels []Label, p *auth.Principal) (store.Write, error) {
	return b.ProvenanceOf([]*store.Version{v}, labels, p)
}

// ProvenanceOf is one Provenance for several versions written together by
// one agent (a bulk import batch): Provenance.target is 1..*, so a batch of
// a thousand new resources is recorded by one resource, not a thousand.
// The activity and time are those of the first version.
func (b *Builder) ProvenanceOf(vs []*store.Version, labels []Label, p *auth.Principal) (store.Write, error) {
	v := vs[0]
	activity := activityOf(v)
	pr := provenance{
		Target:   targets(vs),
		Recorded: resource.FormatInstant(v.LastUpdated),
		Activity: &codeable{Coding: []coding{activity}},
	}
	switch {
	case p == nil:
		pr.Agent = []provAgent{{Type: &codeable{Coding: []coding{{System: sysProvAgent, Code: "assembler", Display: "Assembler"}}},
			Who: reference{Display: "Mekong, without an authenticated client (command line or --auth none)"}}}
	default:
		var org *reference
		if p.Organization != "" {
			o := OrganizationRef(p.Organization)
			org = &o
			pr.Agent = append(pr.Agent, provAgent{Type: &codeable{Coding: []coding{{System: sysProvAgent, Code: "author", Display: "Author"}}}, Who: o})
		}
		user := provAgent{Type: &codeable{Coding: []coding{{System: sysProvAgent, Code: "enterer", Display: "Enterer"}}}, OnBehalfOf: org}
		switch {
		case p.Subject != "":
			user.Who = reference{Identifier: &identifier{System: p.Issuer, Value: p.Subject}}
		case p.ClientID != "":
			user.Who = reference{Identifier: &identifier{System: ClientSystem, Value: p.ClientID}}
		default:
			user.Who = reference{Display: "unknown user"}
		}
		pr.Agent = append(pr.Agent, user)
		for _, pou := range p.PurposeOfUse {
			pr.Reason = append(pr.Reason, codeable{Coding: []coding{{System: sysPurpose, Code: pou}}})
		}
	}
	return b.write("Provenance", &pr, metaExtra{Security: labelCodings(labels)})
}

// activityOf is the v3-DataOperation that made v.
func activityOf(v *store.Version) coding {
	switch {
	case v.Deleted:
		return coding{System: sysDataOperation, Code: "DELETE", Display: "delete"}
	case v.VersionID == 1 || v.Method == store.MethodPost:
		return coding{System: sysDataOperation, Code: "CREATE", Display: "create"}
	}
	return coding{System: sysDataOperation, Code: "UPDATE", Display: "revise"}
}

// Provenances records versions written together by one agent (a
// transaction, a bulk import batch): one Provenance per activity and set of
// security labels, in order of first appearance, so that each carries
// exactly its targets' labels and the label filter hides it when it hides
// them. labels[i] are the labels of vs[i].
func (b *Builder) Provenances(vs []*store.Version, labels [][]Label, p *auth.Principal) ([]store.Write, error) {
	type key struct{ activity, labels string }
	var order []key
	groups := map[key][]*store.Version{}
	groupLabels := map[key][]Label{}
	for i, v := range vs {
		k := key{activityOf(v).Code, fmt.Sprint(labels[i])}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			groupLabels[k] = labels[i]
		}
		groups[k] = append(groups[k], v)
	}
	out := make([]store.Write, 0, len(order))
	for _, k := range order {
		w, err := b.ProvenanceOf(groups[k], groupLabels[k], p)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func targets(vs []*store.Version) []reference {
	out := make([]reference, len(vs))
	for i, v := range vs {
		out[i] = reference{Reference: v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.VersionID, 10)}
	}
	return out
}

type metaExtra struct {
	Profile  []string `json:"profile,omitempty"`
	Security []coding `json:"security,omitempty"`
}

func labelCodings(ls []Label) []coding {
	out := make([]coding, len(ls))
	for i, l := range ls {
		out[i] = coding(l)
	}
	return out
}

// write renders a Provenance and builds its index rows from the values it
// was made of: no encode-and-decode round trip. The body is marshalled
// once; Render only splices in the id and server meta.
func (b *Builder) write(typ string, body *provenance, meta metaExtra) (store.Write, error) {
	raw, err := fhirjson.Marshal(body)
	if err != nil {
		return store.Write{}, fmt.Errorf("audit: %s: %w", typ, err)
	}
	extra, err := fhirjson.Marshal(meta)
	if err != nil {
		return store.Write{}, fmt.Errorf("audit: %s meta: %w", typ, err)
	}
	render := func(id string, v int64, at time.Time) []byte { return splice(typ, raw, extra, id, v, at) }
	return store.Write{Type: typ, ID: b.newID(), Method: store.MethodPost, Render: render, Index: b.provenanceIndex(body, meta)}, nil
}

// splice writes {"resourceType","id","meta":{versionId,lastUpdated,extra...},raw...}.
func splice(typ string, raw, extra []byte, id string, v int64, at time.Time) []byte {
	var buf bytes.Buffer
	buf.Grow(len(raw) + len(extra) + 128)
	buf.WriteString(`{"resourceType":"` + typ + `","id":"` + id + `","meta":{"versionId":"` + strconv.FormatInt(v, 10) +
		`","lastUpdated":"` + resource.FormatInstant(at) + `"`)
	if len(extra) > 2 {
		buf.WriteByte(',')
		buf.Write(extra[1 : len(extra)-1])
	}
	buf.WriteString("},")
	buf.Write(raw[1:])
	return buf.Bytes()
}
