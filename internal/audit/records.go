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

// Builder turns events and writes into the store writes of their
// AuditEvents and Provenance, indexed for search.
type Builder struct {
	reg   *search.Registry
	newID func() string
}

// NewBuilder returns a builder indexing with reg (which must serve
// AuditEvent and Provenance) and naming records with newID.
func NewBuilder(reg *search.Registry, newID func() string) *Builder {
	return &Builder{reg: reg, newID: newID}
}

// AuditEvents returns the writes of ev's AuditEvents. status is the HTTP
// status of the access (ev.Status wins when set).
func (b *Builder) AuditEvents(ev Event, req Request, p *auth.Principal, status int, at time.Time) ([]store.Write, error) {
	if ev.Status != 0 {
		status = ev.Status
	}
	var out []store.Write
	for _, a := range auditEvents(ev, req, p, status, at) {
		patient := ""
		for _, e := range a.Entity {
			if e.Role != nil && e.Role.System == sysObjectRole && e.Role.Code == "1" {
				patient = e.What.Reference
			}
		}
		meta := metaExtra{Security: labelCodings(ev.Labels)}
		if prof := profileOf(ev, a.Outcome, patient); prof != "" {
			meta.Profile = []string{prof}
		}
		w, err := b.write("AuditEvent", a, meta)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
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
	return b.write("Provenance", pr, metaExtra{Security: labelCodings(labels)})
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

// write renders a record resource and indexes it. The body is marshalled
// once; Render only splices in the id and server meta.
func (b *Builder) write(typ string, body any, meta metaExtra) (store.Write, error) {
	raw, err := fhirjson.Marshal(body)
	if err != nil {
		return store.Write{}, fmt.Errorf("audit: %s: %w", typ, err)
	}
	extra, err := fhirjson.Marshal(meta)
	if err != nil {
		return store.Write{}, fmt.Errorf("audit: %s meta: %w", typ, err)
	}
	render := func(id string, v int64, at time.Time) []byte {
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
	id := b.newID()
	m, err := search.Decode(render(id, 1, time.Time{}))
	if err != nil {
		return store.Write{}, fmt.Errorf("audit: %s: %w", typ, err)
	}
	ix, err := b.reg.Extract(typ, m)
	if err != nil {
		return store.Write{}, fmt.Errorf("audit: indexing %s: %w", typ, err)
	}
	return store.Write{Type: typ, ID: id, Method: store.MethodPost, Render: render, Index: ix}, nil
}
