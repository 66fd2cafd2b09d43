package audit

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"time"

	"github.com/mekong-fhir/mekong/internal/auth"
)

// Code systems the AuditEvents use, as BALP profiles them
// (https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.PatientRead.html).
const (
	sysEventType   = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	sysInteraction = "http://hl7.org/fhir/restful-interaction"
	sysParticipant = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysDICOM       = "http://dicom.nema.org/resources/ontology/DCM"
	sysEntityType  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole  = "http://terminology.hl7.org/CodeSystem/object-role"
	sysBALPEntity  = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
	sysSourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysPurpose     = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	balpProfile    = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
	// ClientSystem identifies OAuth client ids in agent identifiers.
	ClientSystem = "urn:mekong:client"
)

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type codeable struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type auditEvent struct {
	Type        coding     `json:"type"`
	Subtype     []coding   `json:"subtype,omitempty"`
	Action      Action     `json:"action,omitempty"`
	Recorded    string     `json:"recorded"`
	Outcome     string     `json:"outcome"`
	OutcomeDesc string     `json:"outcomeDesc,omitempty"`
	Purpose     []codeable `json:"purposeOfEvent,omitempty"`
	Agent       []aeAgent  `json:"agent"`
	Source      aeSource   `json:"source"`
	Entity      []aeEntity `json:"entity,omitempty"`
}

type aeAgent struct {
	Type         *codeable  `json:"type,omitempty"`
	Who          *reference `json:"who,omitempty"`
	Requestor    bool       `json:"requestor"`
	Policy       []string   `json:"policy,omitempty"`
	Network      *network   `json:"network,omitempty"`
	PurposeOfUse []codeable `json:"purposeOfUse,omitempty"`
}

type network struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

type aeSource struct {
	Observer reference `json:"observer"`
	Type     []coding  `json:"type,omitempty"`
}

type aeEntity struct {
	What          *reference `json:"what,omitempty"`
	Type          *coding    `json:"type,omitempty"`
	Role          *coding    `json:"role,omitempty"`
	SecurityLabel []coding   `json:"securityLabel,omitempty"`
	Description   string     `json:"description,omitempty"`
	Query         string     `json:"query,omitempty"`
}

var balpNames = map[Action]string{ActionCreate: "Create", ActionRead: "Read", ActionUpdate: "Update", ActionDelete: "Delete", ActionExecute: "Query"}

// auditEvents renders ev as BALP AuditEvents (without id and meta): one per
// patient, as BALP asks of queries touching several patients, or one
// without a patient entity when ev concerns none.
func auditEvents(ev Event, req Request, p *auth.Principal, status int, at time.Time) []auditEvent {
	patients := ev.Patients
	if len(patients) == 0 {
		patients = []string{""}
	}
	out := make([]auditEvent, 0, len(patients))
	for _, patient := range patients {
		out = append(out, auditEventFor(ev, req, p, status, at, patient))
	}
	return out
}

func auditEventFor(ev Event, req Request, p *auth.Principal, status int, at time.Time, patient string) auditEvent {
	a := auditEvent{
		Type:     coding{System: sysEventType, Code: "rest", Display: "Restful Operation"},
		Subtype:  []coding{{System: sysInteraction, Code: ev.Interaction}},
		Action:   ev.Action,
		Recorded: at.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		Outcome:  OutcomeCode(status),
		Source: aeSource{Observer: reference{Display: "Mekong FHIR gateway"},
			Type: []coding{{System: "http://terminology.hl7.org/CodeSystem/security-source-type", Code: "4", Display: "Application Server"}}},
	}
	if a.Outcome != "0" {
		a.OutcomeDesc = "HTTP " + strconv.Itoa(status)
	}
	if ev.EventType != nil {
		a.Type = coding(*ev.EventType)
	}
	if len(ev.Subtypes) > 0 {
		a.Subtype = a.Subtype[:0]
		for _, c := range ev.Subtypes {
			a.Subtype = append(a.Subtype, coding(c))
		}
	}
	if len(ev.PurposeOfEvent) > 0 || ev.Reason != "" {
		// One CodeableConcept: the codes say why in general, the text says
		// why in this case.
		pe := codeable{Text: ev.Reason}
		for _, c := range ev.PurposeOfEvent {
			pe.Coding = append(pe.Coding, coding(c))
		}
		a.Purpose = []codeable{pe}
	}
	// BALP: for a read the server is the source of the data and the client
	// its destination; for queries and writes the roles are the other way.
	clientRole, serverRole := coding{System: sysDICOM, Code: "110153", Display: "Source Role ID"}, coding{System: sysDICOM, Code: "110152", Display: "Destination Role ID"}
	if ev.Action == ActionRead {
		clientRole, serverRole = serverRole, clientRole
	}
	user := aeAgent{Type: &codeable{Coding: []coding{{System: sysParticipant, Code: "IRCP", Display: "information recipient"}}}, Requestor: true}
	client := aeAgent{Type: &codeable{Coding: []coding{clientRole}}}
	if req.ClientAddress != "" {
		client.Network = &network{Address: req.ClientAddress, Type: "2"}
	}
	server := aeAgent{Type: &codeable{Coding: []coding{serverRole}}, Who: &reference{Display: "Mekong FHIR gateway"}}
	if req.Server != "" {
		server.Network = &network{Address: req.Server, Type: "1"}
	}
	var org *aeAgent
	if p != nil {
		user.Who = &reference{Identifier: &identifier{System: p.Issuer, Value: p.Subject}}
		if p.Subject == "" {
			user.Who = &reference{Display: "unknown user"}
		}
		if p.TokenID != "" {
			user.Policy = []string{p.TokenID}
		}
		for _, pou := range p.PurposeOfUse {
			user.PurposeOfUse = append(user.PurposeOfUse, codeable{Coding: []coding{{System: sysPurpose, Code: pou}}})
		}
		if p.ClientID != "" {
			client.Who = &reference{Identifier: &identifier{System: ClientSystem, Value: p.ClientID}}
		}
		if p.Organization != "" {
			who := OrganizationRef(p.Organization)
			org = &aeAgent{Type: &codeable{Coding: []coding{{System: sysParticipant, Code: "RESP", Display: "responsible party"}}}, Who: &who}
		}
	} else {
		user.Who = &reference{Display: "unauthenticated"}
	}
	if client.Who == nil {
		client.Who = &reference{Display: "unidentified client"}
	}
	a.Agent = []aeAgent{user, client, server}
	if org != nil {
		a.Agent = append(a.Agent, *org)
	}
	if req.ID != "" {
		a.Entity = append(a.Entity, aeEntity{What: &reference{Identifier: &identifier{Value: req.ID}},
			Type: &coding{System: sysBALPEntity, Code: "XrequestId", Display: "X-Request-Id"}})
	}
	if patient != "" {
		a.Entity = append(a.Entity, aeEntity{What: &reference{Reference: "Patient/" + patient},
			Type: &coding{System: sysEntityType, Code: "1", Display: "Person"},
			Role: &coding{System: sysObjectRole, Code: "1", Display: "Patient"}})
	}
	labels := make([]coding, len(ev.Labels))
	for i, l := range ev.Labels {
		labels[i] = coding(l)
	}
	if ev.Type != "" && ev.ID != "" {
		ref := ev.Type + "/" + ev.ID
		if ev.VersionID > 0 {
			ref += "/_history/" + strconv.FormatInt(ev.VersionID, 10)
		}
		a.Entity = append(a.Entity, aeEntity{What: &reference{Reference: ref},
			Type:          &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role:          &coding{System: sysObjectRole, Code: "4", Display: "Domain Resource"},
			SecurityLabel: labels})
	}
	if ev.Action == ActionExecute {
		// BALP: the query entity carries the raw query, base64-encoded.
		desc := ev.Type
		if desc == "" {
			desc = "system"
		}
		a.Entity = append(a.Entity, aeEntity{
			Type:          &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role:          &coding{System: sysObjectRole, Code: "24", Display: "Query"},
			SecurityLabel: labels,
			Description:   desc + " " + ev.Interaction,
			Query:         base64.StdEncoding.EncodeToString([]byte(ev.Query))})
	}
	return a
}

// profileOf names the BALP profile an AuditEvent follows; failures have
// none (BALP profiles successful interactions).
func profileOf(ev Event, outcome, patient string) string {
	name, ok := balpNames[ev.Action]
	if !ok || outcome != "0" {
		return ""
	}
	if patient != "" {
		name = "Patient" + name
	}
	return balpProfile + name
}

// OrganizationRef turns Principal.Organization into a Reference: a
// relative "Organization/id" stays a reference, "system|value" and URIs
// become identifiers.
func OrganizationRef(org string) reference {
	if len(org) > len("Organization/") && org[:len("Organization/")] == "Organization/" {
		return reference{Reference: org}
	}
	for i := 0; i < len(org); i++ {
		if org[i] == '|' {
			return reference{Identifier: &identifier{System: org[:i], Value: org[i+1:]}}
		}
	}
	if u, err := url.Parse(org); err == nil && u.Scheme != "" {
		return reference{Identifier: &identifier{System: "urn:ietf:rfc:3986", Value: org}}
	}
	return reference{Identifier: &identifier{Value: org}}
}

// Source is the meta.source Mekong writes on every resource a client
// writes: urn:mekong:org:<organization>:client:<client_id>, each part
// query-escaped, so data from each HIS stays attributable. "" without a
// principal (the command line), which keeps what the resource says.
func Source(p *auth.Principal) string {
	if p == nil || (p.Organization == "" && p.ClientID == "") {
		return ""
	}
	s := "urn:mekong:"
	if p.Organization != "" {
		s += "org:" + url.QueryEscape(p.Organization) + ":"
	}
	return s + "client:" + url.QueryEscape(p.ClientID)
}
