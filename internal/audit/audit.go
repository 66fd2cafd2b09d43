// Package audit records who did what to whose data: a BALP AuditEvent
// (https://profiles.ihe.net/ITI/BALP/) for every access to the data, and a
// Provenance (https://hl7.org/fhir/R4/provenance.html) for every write.
//
// The interactions (package rest) know what a request touched: which
// resource, which patient, which labels. They note it in the request's
// Collector; the HTTP layer then turns the notes into AuditEvents and
// writes them through the group-commit Writer before the response leaves.
// A write's own records go into the write's transaction instead (see
// store.Write.Record), so they are noted as already stored.
package audit

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
)

// Action is an AuditEvent.action (http://hl7.org/fhir/audit-event-action).
type Action string

// Actions: create, read, update, delete and execute (searches, history).
const (
	ActionCreate  Action = "C"
	ActionRead    Action = "R"
	ActionUpdate  Action = "U"
	ActionDelete  Action = "D"
	ActionExecute Action = "E"
)

// Label is a security label (meta.security coding).
type Label struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Coding is a code of an AuditEvent's type, subtype or purpose of event.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Codings the break-the-glass and steward events use
// (https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_400.html,
// http://terminology.hl7.org/CodeSystem/v3-ActReason).
var (
	TypeSecurityAlert               = Coding{System: sysDICOM, Code: "110113", Display: "Security Alert"}
	SubtypeEmergencyOverrideStarted = Coding{System: sysDICOM, Code: "110127", Display: "Emergency Override Started"}
	SubtypeEmergencyOverrideStopped = Coding{System: sysDICOM, Code: "110138", Display: "Emergency Override Stopped"}
	PurposeEmergencyTreatment       = Coding{System: sysPurpose, Code: "ETREAT", Display: "Emergency Treatment"}
)

// Event is one access an interaction made.
type Event struct {
	Action Action
	// Interaction is the restful-interaction code
	// (http://hl7.org/fhir/restful-interaction): read, vread, search-type...
	Interaction string
	// Type, ID and VersionID name the data entity; ID is "" for searches.
	Type      string
	ID        string
	VersionID int64
	// Query is a search's query string ("" for other interactions).
	Query string
	// Patients are the ids of the patients whose data this touched.
	Patients []string
	// Labels are the security labels of the data touched.
	Labels []Label
	// Status is the HTTP status of this access; 0 means the response's.
	Status int
	// Stored is set when the AuditEvent was already written in the
	// transaction of the write it records.
	Stored bool

	// EventType, when set, replaces the default AuditEvent.type (the
	// audit-event-type "rest" of a RESTful interaction), e.g.
	// TypeSecurityAlert for break-the-glass.
	EventType *Coding
	// Subtypes, when set, replace the default AuditEvent.subtype (the
	// restful-interaction code of Interaction), e.g.
	// SubtypeEmergencyOverrideStarted.
	Subtypes []Coding
	// PurposeOfEvent are the purposes of this event
	// (AuditEvent.purposeOfEvent, e.g. PurposeEmergencyTreatment); the
	// token's purposes of use are recorded on its agent regardless.
	PurposeOfEvent []Coding
	// Reason is the free text a user gave for the access (a break-the-glass
	// justification, a steward's reason to link or unlink), rendered as the
	// text of AuditEvent.purposeOfEvent. It is shown to auditors only and
	// must not be logged.
	Reason string
}

// Request is what the HTTP layer knows about the request being audited.
type Request struct {
	// ID is the X-Request-ID.
	ID string
	// ClientAddress is the client's network address.
	ClientAddress string
	// Server is the host name the request was addressed to.
	Server string
}

// Collector gathers the events of one request. It is safe for concurrent
// use (batch entries may run in parallel).
type Collector struct {
	Request Request
	mu      sync.Mutex
	events  []Event
}

// NewCollector returns an empty collector for a request.
func NewCollector(r Request) *Collector { return &Collector{Request: r} }

// Events returns the events noted so far.
func (c *Collector) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

type collectorKey struct{}

// WithCollector returns ctx carrying c.
func WithCollector(ctx context.Context, c *Collector) context.Context {
	return context.WithValue(ctx, collectorKey{}, c)
}

// FromContext returns the request's collector, or nil outside an HTTP
// request (the command line).
func FromContext(ctx context.Context) *Collector {
	c, _ := ctx.Value(collectorKey{}).(*Collector)
	return c
}

// RequestOf returns the audited request's details ({} outside a request).
func RequestOf(ctx context.Context) Request {
	if c := FromContext(ctx); c != nil {
		return c.Request
	}
	return Request{}
}

// Note records an event in ctx's collector; without one it does nothing.
func Note(ctx context.Context, ev Event) {
	c := FromContext(ctx)
	if c == nil {
		return
	}
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
}

// Facts are the audit-relevant parts of a stored resource.
type Facts struct {
	Patients []string
	Labels   []Label
}

type refJSON struct {
	Reference string `json:"reference"`
}

// FactsOf reads a resource's patient (itself for a Patient; its subject or
// patient reference otherwise) and meta.security labels. Content that does
// not parse yields nothing: it was validated when stored.
func FactsOf(typ string, content []byte) Facts {
	if len(content) == 0 {
		return Facts{}
	}
	var doc struct {
		ID   string `json:"id"`
		Meta struct {
			Security []Label `json:"security"`
		} `json:"meta"`
		Subject *refJSON `json:"subject"`
		Patient *refJSON `json:"patient"`
	}
	if json.Unmarshal(content, &doc) != nil {
		return Facts{}
	}
	f := Facts{Labels: doc.Meta.Security}
	switch {
	case typ == "Patient":
		f.Patients = []string{doc.ID}
	default:
		for _, r := range []*refJSON{doc.Subject, doc.Patient} {
			if r == nil {
				continue
			}
			if id, ok := patientRef(r.Reference); ok {
				f.Patients = append(f.Patients, id)
			}
		}
	}
	return f
}

// patientRef returns the id of a "Patient/id" or "Patient/id/_history/n" reference.
func patientRef(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "Patient/")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "/")
	return id, id != ""
}

// PatientsInQuery returns the patients a search names in its criteria:
// patient= and subject= references, and _id on Patient.
func PatientsInQuery(typ string, q url.Values) []string {
	var out []string
	for name, values := range q {
		base, mod, _ := strings.Cut(name, ":")
		for _, v := range values {
			for _, one := range strings.Split(v, ",") {
				switch {
				case typ == "Patient" && (base == "_id" || base == "id"):
					out = append(out, one)
				case (base == "patient" || base == "subject") && (mod == "" || mod == "Patient"):
					if id, ok := patientRef(one); ok {
						out = append(out, id)
					} else if (base == "patient" || mod == "Patient") && one != "" && !strings.Contains(one, "/") {
						out = append(out, one)
					}
				}
			}
		}
	}
	return out
}

// Merge adds facts to an event, without duplicates.
func (ev *Event) Merge(f Facts) {
	for _, p := range f.Patients {
		if !contains(ev.Patients, p) {
			ev.Patients = append(ev.Patients, p)
		}
	}
	for _, l := range f.Labels {
		dup := false
		for _, m := range ev.Labels {
			dup = dup || (m.System == l.System && m.Code == l.Code)
		}
		if !dup {
			ev.Labels = append(ev.Labels, Label{System: l.System, Code: l.Code, Display: l.Display})
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// OutcomeCode maps an HTTP status to an audit-event-outcome code
// (http://terminology.hl7.org/CodeSystem/audit-event-outcome): 0 success,
// 4 minor failure ("often equivalent to an HTTP 400 response", including
// denied and not found), 8 serious failure (a server fault).
func OutcomeCode(status int) string {
	switch {
	case status < 400:
		return "0"
	case status < 500:
		return "4"
	}
	return "8"
}

// Describe is the event of a request known only by its method and URL
// parts: an attempt that failed before any interaction noted what it
// touched (a 401, 403 or 404, an invalid body). sub is "", "_history" or
// "_search".
func Describe(method, typ, id string, vid int64, sub string, query url.Values) Event {
	ev := Event{Type: typ, ID: id, VersionID: vid}
	get := method == "GET" || method == "HEAD"
	switch {
	case get && vid != 0:
		ev.Action, ev.Interaction = ActionRead, "vread"
	case get && sub == "_history":
		ev.Action, ev.Interaction = ActionExecute, "history-system"
		if id != "" {
			ev.Interaction = "history-instance"
		} else if typ != "" {
			ev.Interaction = "history-type"
		}
	case get && id != "":
		ev.Action, ev.Interaction = ActionRead, "read"
	case get || (method == "POST" && sub == "_search"):
		ev.Action, ev.Interaction = ActionExecute, "search-system"
		if typ != "" {
			ev.Interaction = "search-type"
		}
		ev.Query = query.Encode()
		ev.Patients = PatientsInQuery(typ, query)
	case method == "POST" && typ == "":
		ev.Action, ev.Interaction = ActionExecute, "transaction"
	case method == "POST":
		ev.Action, ev.Interaction = ActionCreate, "create"
	case method == "PUT":
		ev.Action, ev.Interaction = ActionUpdate, "update"
	case method == "PATCH":
		ev.Action, ev.Interaction = ActionUpdate, "patch"
	case method == "DELETE":
		ev.Action, ev.Interaction = ActionDelete, "delete"
	default:
		ev.Action, ev.Interaction = ActionExecute, "operation"
	}
	if typ == "Patient" && id != "" {
		ev.Patients = []string{id}
	}
	return ev
}
