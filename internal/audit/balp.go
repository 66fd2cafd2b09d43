package audit

import (
	"encoding/base64"
	"net/url"
	"strconv"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
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
	// GatewaySystem identifies the gateway instance that recorded an event
	// (AuditEvent.source.observer.identifier).
	GatewaySystem = "urn:mekong:gateway"
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

// auditEventOf renders a log row as a BALP AuditEvent (without id and meta).
func auditEventOf(r *store.AuditRecord) auditEvent {
	outcome := OutcomeCode(r.Status)
	a := auditEvent{
		Type:     coding(r.EventType),
		Subtype:  []coding{{System: sysInteraction, Code: r.Interaction}},
		Action:   Action(r.Action),
		Recorded: r.Recorded.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		Outcome:  outcome,
		Source: aeSource{Observer: reference{Display: "Mekong FHIR gateway"},
			Type: []coding{{System: sysSourceType, Code: "4", Display: "Application Server"}}},
	}
	if r.EventType.Code == "" {
		a.Type = coding(store.AuditTypeRest)
	}
	if len(r.Subtypes) > 0 {
		// The event's own subtypes come first; the REST interaction that
		// carried it, when there was one, stays beside them.
		a.Subtype = nil
		for _, c := range r.Subtypes {
			a.Subtype = append(a.Subtype, coding(c))
		}
		if r.Interaction != "" {
			a.Subtype = append(a.Subtype, coding{System: sysInteraction, Code: r.Interaction})
		}
	}
	if r.Source != "" {
		a.Source.Observer.Identifier = &identifier{System: GatewaySystem, Value: r.Source}
	}
	if outcome != "0" {
		a.OutcomeDesc = "HTTP " + strconv.Itoa(r.Status)
	}
	if len(r.PurposeOfEvent) > 0 || r.Reason != "" {
		// One CodeableConcept: the codes say why in general, the text says
		// why in this case.
		pe := codeable{Text: r.Reason}
		for _, c := range r.PurposeOfEvent {
			pe.Coding = append(pe.Coding, coding(c))
		}
		a.Purpose = []codeable{pe}
	}
	// BALP: for a read the server is the source of the data and the client
	// its destination; for queries and writes the roles are the other way.
	clientRole, serverRole := coding{System: sysDICOM, Code: "110153", Display: "Source Role ID"}, coding{System: sysDICOM, Code: "110152", Display: "Destination Role ID"}
	if Action(r.Action) == ActionRead {
		clientRole, serverRole = serverRole, clientRole
	}
	user := aeAgent{Type: &codeable{Coding: []coding{{System: sysParticipant, Code: "IRCP", Display: "information recipient"}}}, Requestor: true}
	client := aeAgent{Type: &codeable{Coding: []coding{clientRole}}}
	if r.ClientAddress != "" {
		client.Network = &network{Address: r.ClientAddress, Type: "2"}
	}
	server := aeAgent{Type: &codeable{Coding: []coding{serverRole}}, Who: &reference{Display: "Mekong FHIR gateway"}}
	if r.Server != "" {
		server.Network = &network{Address: r.Server, Type: "1"}
	}
	var org *aeAgent
	if r.Principal {
		user.Who = &reference{Identifier: &identifier{System: r.Issuer, Value: r.Subject}}
		if r.Subject == "" {
			user.Who = &reference{Display: "unknown user"}
		}
		if r.TokenID != "" {
			user.Policy = []string{r.TokenID}
		}
		for _, pou := range r.PurposeOfUse {
			user.PurposeOfUse = append(user.PurposeOfUse, codeable{Coding: []coding{{System: sysPurpose, Code: pou}}})
		}
		if r.ClientID != "" {
			client.Who = &reference{Identifier: &identifier{System: ClientSystem, Value: r.ClientID}}
		}
		if r.Organization != "" {
			who := OrganizationRef(r.Organization)
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
	if r.RequestID != "" {
		a.Entity = append(a.Entity, aeEntity{What: &reference{Identifier: &identifier{Value: r.RequestID}},
			Type: &coding{System: sysBALPEntity, Code: "XrequestId", Display: "X-Request-Id"}})
	}
	if r.Patient != "" {
		a.Entity = append(a.Entity, aeEntity{What: &reference{Reference: "Patient/" + r.Patient},
			Type: &coding{System: sysEntityType, Code: "1", Display: "Person"},
			Role: &coding{System: sysObjectRole, Code: "1", Display: "Patient"}})
	}
	labels := make([]coding, len(r.Labels))
	for i, l := range r.Labels {
		labels[i] = coding(l)
	}
	if r.EntityType != "" && r.EntityID != "" {
		ref := r.EntityType + "/" + r.EntityID
		if r.EntityVersion > 0 {
			ref += "/_history/" + strconv.FormatInt(r.EntityVersion, 10)
		}
		a.Entity = append(a.Entity, aeEntity{What: &reference{Reference: ref},
			Type:          &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role:          &coding{System: sysObjectRole, Code: "4", Display: "Domain Resource"},
			SecurityLabel: labels})
	}
	if Action(r.Action) == ActionExecute {
		// BALP: the query entity carries the raw query, base64-encoded.
		desc := r.EntityType
		if desc == "" {
			desc = "system"
		}
		a.Entity = append(a.Entity, aeEntity{
			Type:          &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role:          &coding{System: sysObjectRole, Code: "24", Display: "Query"},
			SecurityLabel: labels,
			Description:   desc + " " + r.Interaction,
			Query:         base64.StdEncoding.EncodeToString([]byte(r.Query))})
	}
	return a
}

// profileOf names the BALP profile an AuditEvent follows; failures have
// none (BALP profiles successful interactions).
func profileOf(action Action, outcome, patient string) string {
	name, ok := balpNames[action]
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
