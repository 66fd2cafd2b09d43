package audit

import (
	"os"
	"time"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Records returns the audit log rows of ev: one per patient, as BALP asks of
// an access touching several patients, or one without a patient. Building
// them copies fields and encodes nothing, so auditing costs a request only
// the durable append. status is the HTTP status of the access (ev.Status
// wins when set); source names the gateway instance recording it.
func Records(ev Event, req Request, p *auth.Principal, status int, at time.Time, source string) []store.AuditRecord {
	if ev.Status != 0 {
		status = ev.Status
	}
	r := store.AuditRecord{
		Recorded: at, Action: string(ev.Action), Interaction: ev.Interaction, Status: status,
		ClientAddress: req.ClientAddress, Server: req.Server, Source: source, RequestID: req.ID,
		EntityType: ev.Type, EntityID: ev.ID, EntityVersion: ev.VersionID, Query: ev.Query,
		Reason: ev.Reason,
	}
	if ev.Type == "" || ev.ID == "" {
		r.EntityType, r.EntityID, r.EntityVersion = ev.Type, "", 0
	}
	if ev.EventType != nil {
		r.EventType = store.AuditCoding(*ev.EventType)
	}
	for _, c := range ev.Subtypes {
		r.Subtypes = append(r.Subtypes, store.AuditCoding(c))
	}
	for _, c := range ev.PurposeOfEvent {
		r.PurposeOfEvent = append(r.PurposeOfEvent, store.AuditCoding(c))
	}
	for _, l := range ev.Labels {
		r.Labels = append(r.Labels, store.AuditCoding(l))
	}
	if p != nil {
		r.Principal = true
		r.Issuer, r.Subject, r.ClientID, r.Organization, r.TokenID = p.Issuer, p.Subject, p.ClientID, p.Organization, p.TokenID
		r.PurposeOfUse = p.PurposeOfUse
	}
	if len(ev.Patients) == 0 {
		return []store.AuditRecord{r}
	}
	out := make([]store.AuditRecord, len(ev.Patients))
	for i, patient := range ev.Patients {
		out[i] = r
		out[i].Patient = patient
	}
	return out
}

// InstanceName is the name this gateway instance records its events under
// (AuditEvent.source.observer): the host name, so the events of two
// instances behind one database can be told apart.
var InstanceName = func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "mekong"
	}
	return h
}()
