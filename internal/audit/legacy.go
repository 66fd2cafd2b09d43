package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// MigrateLegacy moves the AuditEvents an earlier Mekong stored as
// resources into the audit log (idempotent: there are none left after the
// first run). Each keeps its id and its JSON, served unchanged; its row
// gets the columns auditors search by. Every command that opens the
// database runs it after the schema migrations.
func MigrateLegacy(ctx context.Context, log store.AuditLog) (int, error) {
	return log.MigrateLegacyAudit(ctx, FromLegacy)
}

// FromLegacy reads an AuditEvent as Mekong wrote it before the audit log
// (BALP, see auditEventOf) into a log row's searchable columns. The caller
// keeps the JSON itself as the row's Legacy content.
func FromLegacy(id string, content []byte) (store.AuditRecord, error) {
	var a struct {
		Meta struct {
			Security []coding `json:"security"`
		} `json:"meta"`
		auditEvent
	}
	if err := json.Unmarshal(content, &a); err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit.FromLegacy: %w", err)
	}
	r := store.AuditRecord{ID: id, Action: string(a.Action), Reason: ""}
	t, err := time.Parse(time.RFC3339Nano, a.Recorded)
	if err != nil {
		return r, fmt.Errorf("audit.FromLegacy: recorded %q: %w", a.Recorded, err)
	}
	r.Recorded = t
	r.Status = legacyStatus(a.Outcome, a.OutcomeDesc)
	if o := a.Source.Observer.Identifier; o != nil && o.System == GatewaySystem {
		r.Source = o.Value
	}
	if a.Type.Code != "" && a.Type != coding(store.AuditTypeRest) {
		r.EventType = store.AuditCoding(a.Type)
	}
	for _, c := range a.Subtype {
		if c.System == sysInteraction && r.Interaction == "" {
			r.Interaction = c.Code
			continue
		}
		r.Subtypes = append(r.Subtypes, store.AuditCoding(c))
	}
	for _, c := range a.Meta.Security {
		r.Labels = append(r.Labels, store.AuditCoding(c))
	}
	for _, p := range a.Purpose {
		for _, c := range p.Coding {
			r.PurposeOfEvent = append(r.PurposeOfEvent, store.AuditCoding(c))
		}
		r.Reason = p.Text
	}
	for _, ag := range a.Agent {
		role := ""
		if ag.Type != nil && len(ag.Type.Coding) > 0 {
			role = ag.Type.Coding[0].Code
		}
		switch {
		case role == "IRCP":
			if ag.Who != nil && ag.Who.Identifier != nil {
				r.Principal, r.Issuer, r.Subject = true, ag.Who.Identifier.System, ag.Who.Identifier.Value
			} else if ag.Who != nil && ag.Who.Display == "unknown user" {
				r.Principal = true
			}
			if len(ag.Policy) > 0 {
				r.TokenID = ag.Policy[0]
			}
			for _, p := range ag.PurposeOfUse {
				for _, c := range p.Coding {
					r.PurposeOfUse = append(r.PurposeOfUse, c.Code)
				}
			}
		case role == "RESP" && ag.Who != nil:
			r.Organization = organizationOf(*ag.Who)
		case ag.Who != nil && ag.Who.Display == "Mekong FHIR gateway":
			if ag.Network != nil {
				r.Server = ag.Network.Address
			}
		default:
			if ag.Who != nil && ag.Who.Identifier != nil && ag.Who.Identifier.System == ClientSystem {
				r.ClientID = ag.Who.Identifier.Value
			}
			if ag.Network != nil {
				r.ClientAddress = ag.Network.Address
			}
		}
	}
	for _, e := range a.Entity {
		switch {
		case e.Type != nil && e.Type.Code == "XrequestId" && e.What != nil && e.What.Identifier != nil:
			r.RequestID = e.What.Identifier.Value
		case e.Role != nil && e.Role.Code == "1" && e.What != nil:
			r.Patient = strings.TrimPrefix(e.What.Reference, "Patient/")
		case e.Role != nil && e.Role.Code == "4" && e.What != nil:
			typ, rest, _ := strings.Cut(e.What.Reference, "/")
			id, ver, _ := strings.Cut(rest, "/_history/")
			r.EntityType, r.EntityID = typ, id
			r.EntityVersion, _ = strconv.ParseInt(ver, 10, 64)
		case e.Role != nil && e.Role.Code == "24":
			q, _ := base64.StdEncoding.DecodeString(e.Query)
			r.Query = string(q)
			if typ, _, ok := strings.Cut(e.Description, " "); ok && typ != "system" {
				r.EntityType = typ
			}
		}
	}
	return r, nil
}

// legacyStatus recovers the HTTP status: failures carried it in
// outcomeDesc ("HTTP 404"); a success was 200.
func legacyStatus(outcome, desc string) int {
	if n, err := strconv.Atoi(strings.TrimPrefix(desc, "HTTP ")); err == nil {
		return n
	}
	switch outcome {
	case "0":
		return 200
	case "4":
		return 400
	}
	return 500
}

// organizationOf inverts OrganizationRef.
func organizationOf(r reference) string {
	switch {
	case r.Reference != "":
		return r.Reference
	case r.Identifier == nil:
		return ""
	case r.Identifier.System == "urn:ietf:rfc:3986" || r.Identifier.System == "":
		return r.Identifier.Value
	}
	return r.Identifier.System + "|" + r.Identifier.Value
}
