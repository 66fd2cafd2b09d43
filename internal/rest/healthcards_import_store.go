package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/store"
)

// cardImport is what an import stored or found already stored.
type cardImport struct {
	patientID string
	// patientCreated is set when this import created the holder.
	patientCreated bool
	items          []importedItem
	provenances    []store.Version
}

type importedItem struct {
	item    healthcard.Item
	version store.Version
	created bool
}

// storeCard writes a verified card's holder (when it is new) and resources
// as one transaction: each a conditional create on its derived identifier,
// then the card's Provenance of what was created. The transaction machinery
// brings what every write has: validation, labels, the writer's own
// Provenance and AuditEvent, identity keys and linking.
func (s *Service) storeCard(ctx context.Context, r Request, res *healthcard.Result, c *healthcard.Contents, h *holderOf) (*cardImport, error) {
	pre := map[string]string{}
	var ops []*entryOp
	add := func(it healthcard.Item, system string) error {
		e, err := fhirjson.Marshal(map[string]any{
			"fullUrl":  it.FullURL,
			"resource": json.RawMessage(rewriteRefs(it.Content, pre)),
			"request": map[string]string{"method": http.MethodPost, "url": it.Type,
				"ifNoneExist": url.Values{"identifier": {system + "|" + it.Identifier}}.Encode()},
		})
		if err != nil {
			return err
		}
		var in entryIn
		if err := json.Unmarshal(e, &in); err != nil {
			return err
		}
		op, err := s.entryOp(r.Base, it.Index, &in)
		if err != nil {
			return err
		}
		ops = append(ops, op)
		return nil
	}
	if h.id != "" {
		pre[c.Holder.FullURL] = "Patient/" + h.id
	} else if err := add(c.Holder, healthcard.HolderSystem); err != nil {
		return nil, cardContentError(err)
	}
	for _, it := range c.Items {
		if err := add(it, healthcard.EntrySystem); err != nil {
			return nil, cardContentError(err)
		}
	}
	var provs []store.Version
	then := func(tx store.Tx) error {
		provs = provs[:0]
		var created []*store.Version
		for _, op := range ops {
			if op.result != nil && op.result.Outcome == store.Created && op.result.Version != nil {
				created = append(created, op.result.Version)
			}
		}
		if len(created) == 0 {
			return nil
		}
		ws, err := s.cardProvenances(ctx, r, res, c.CardID, created)
		if err != nil {
			return err
		}
		// The card's Provenance is a record, which clients may not write:
		// it goes to the store beneath the recording layer, with no records
		// of its own (as the writer's own Provenance).
		raw := tx
		if rt, ok := tx.(*recordingTx); ok {
			raw = rt.Tx
		}
		actx := store.WithAccess(ctx, &store.Access{All: true})
		for _, w := range ws {
			got, err := raw.Write(actx, w)
			if err != nil {
				return err
			}
			provs = append(provs, *got.Version)
		}
		return nil
	}
	if _, err := s.transactionThen(ctx, r, ops, then); err != nil {
		return nil, cardContentError(err)
	}
	out := &cardImport{provenances: provs, patientID: h.id}
	for _, op := range ops {
		v := op.result.Version
		created := op.result.Outcome == store.Created
		if op.typ == "Patient" {
			out.patientID, out.patientCreated = v.ID, created
			continue
		}
		for _, it := range c.Items {
			if it.FullURL == op.entry.FullURL {
				out.items = append(out.items, importedItem{item: it, version: *v, created: created})
			}
		}
	}
	return out, nil
}

// cardContentError says that an entry's failure is the card's: its
// content is what could not be stored (a resource that is not valid R4).
// Errors about entries name the card's own entries (Bundle.entry[N] and
// fullUrl resource:N), since each is written under the card's index.
func cardContentError(err error) error {
	e, ok := outcome.As(err)
	if !ok {
		return err
	}
	out := &outcome.Error{Status: e.Status, Header: e.Header}
	if out.Status == http.StatusBadRequest {
		out.Status = http.StatusUnprocessableEntity // the request was right; the card's content is not storable
	}
	for _, is := range e.Issues {
		if strings.HasPrefix(is.Diagnostics, "Bundle.entry[") {
			is.Diagnostics = "the card's " + is.Diagnostics
		}
		is.Diagnostics += "; nothing was imported"
		out.Issues = append(out.Issues, is)
	}
	return out
}

// The card Provenance's codes (https://hl7.org/fhir/R4/provenance.html).
const (
	cardsSpecURL        = "https://hl7.org/fhir/uv/smart-health-cards-and-links/cards-specification.html"
	sysURI              = "urn:ietf:rfc:3986"
	sysProvParticipant  = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	sysProvEntityRole   = "http://hl7.org/fhir/provenance-entity-role"
	sysV3DataOperation  = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
	cardProvenanceLimit = 1000 // targets per Provenance; a card holds a few dozen resources
)

// cardProvenances are the Provenances of what an import created: the issuer
// as the attester (it signed the card), the card as the source entity (its
// hash, issue date and rid), the cards specification as the policy. One per
// set of security labels, carrying them, so a caller who may not see the
// data cannot see its Provenance either (as the writer's own Provenance).
func (s *Service) cardProvenances(ctx context.Context, r Request, res *healthcard.Result, cardID string, vs []*store.Version) ([]store.Write, error) {
	issuer := res.IssuerName
	if issuer == "" {
		issuer = res.Issuer
	}
	card := fmt.Sprintf("SMART Health Card issued %s by %s", res.JWS.IssuedAt().UTC().Format("2006-01-02"), res.Issuer)
	if rid := res.JWS.Claims.VC.RID; rid != "" {
		card += " (rid " + rid + ")"
	}
	type group struct {
		labels  []audit.Label
		targets []map[string]string
	}
	var order []string
	groups := map[string]*group{}
	for _, v := range vs {
		labels := audit.FactsOf(v.Type, v.Content).Labels
		k := fmt.Sprint(labels)
		g := groups[k]
		if g == nil || len(g.targets) >= cardProvenanceLimit {
			g = &group{labels: labels}
			groups[k] = g
			order = append(order, k)
		}
		g.targets = append(g.targets, map[string]string{"reference": v.Type + "/" + v.ID + "/_history/" + itoa(v.VersionID)})
	}
	var out []store.Write
	for _, k := range order {
		g := groups[k]
		p := map[string]any{
			"resourceType": "Provenance",
			"target":       g.targets,
			"recorded":     resource.FormatInstant(vs[0].LastUpdated),
			"policy":       []string{cardsSpecURL},
			"activity":     codeable(sysV3DataOperation, "CREATE", "create"),
			"agent": []any{map[string]any{
				"type": codeable(sysProvParticipant, "attester", "Attester"),
				"who":  map[string]any{"identifier": map[string]string{"system": sysURI, "value": res.Issuer}, "display": issuer},
			}},
			"entity": []any{map[string]any{
				"role": "source",
				"what": map[string]any{"identifier": map[string]string{"system": healthcard.CardSystem, "value": cardID}, "display": card},
			}},
		}
		if len(g.labels) > 0 {
			p["meta"] = map[string]any{"security": g.labels}
		}
		body, err := fhirjson.Marshal(p)
		if err != nil {
			return nil, err
		}
		pr, err := s.parser.Parse(body)
		if err != nil {
			return nil, fmt.Errorf("health card import: the card's Provenance: %w", err)
		}
		w := store.Write{Type: "Provenance", ID: s.NewID(), Method: store.MethodPost, Tenant: r.Tenant}
		if _, err := s.prepare(ctx, &w, pr); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func codeable(system, code, display string) map[string]any {
	return map[string]any{"coding": []map[string]string{{"system": system, "code": code, "display": display}}}
}

// parameters is the answer of an import: what the card is, who verified
// it how, which Patient holds it and how it was found, and each resource
// with what happened to it.
func (d *cardImport) parameters(res *healthcard.Result, c *healthcard.Contents, h *holderOf) []byte {
	ref := func(v store.Version) map[string]string {
		return map[string]string{"reference": v.Type + "/" + v.ID + "/_history/" + itoa(v.VersionID)}
	}
	disposition := func(created bool) string {
		if created {
			return "created"
		}
		return "unchanged"
	}
	result := "unchanged"
	var ps []map[string]any
	add := func(p map[string]any) { ps = append(ps, p) }
	add(map[string]any{"name": "issuer", "valueUri": res.Issuer})
	if res.IssuerName != "" {
		add(map[string]any{"name": "issuerName", "valueString": res.IssuerName})
	}
	add(map[string]any{"name": "card", "valueIdentifier": map[string]string{"system": healthcard.CardSystem, "value": c.CardID}})
	add(map[string]any{"name": "verification", "part": []map[string]any{
		{"name": "signature", "valueString": res.Signature.Detail},
		{"name": "expiry", "valueString": res.Expiry.Detail},
		{"name": "revocation", "valueString": res.Revocation.Detail},
	}})
	how := h.how
	if h.how == "created" && !d.patientCreated {
		how = "identified" // created meanwhile by an import of the same card
	}
	if d.patientCreated {
		result = "imported"
	}
	patient := []map[string]any{
		{"name": "patient", "valueReference": map[string]string{"reference": "Patient/" + d.patientID}},
		{"name": "found", "valueCode": how},
	}
	if h.how == "matched" {
		patient = append(patient, map[string]any{"name": "grade", "valueCode": h.grade},
			map[string]any{"name": "score", "valueDecimal": math.Round(h.score*10000) / 10000})
	}
	add(map[string]any{"name": "holder", "part": patient})
	for _, it := range d.items {
		if it.created {
			result = "imported"
		}
		add(map[string]any{"name": "resource", "part": []map[string]any{
			{"name": "bundledResource", "valueUri": it.item.FullURL},
			{"name": "reference", "valueReference": ref(it.version)},
			{"name": "disposition", "valueCode": disposition(it.created)},
		}})
	}
	for _, sk := range c.Skipped {
		add(map[string]any{"name": "skipped", "part": []map[string]any{
			{"name": "bundledResource", "valueUri": sk.FullURL},
			{"name": "type", "valueCode": sk.Type},
			{"name": "reason", "valueString": sk.Reason},
		}})
	}
	for _, p := range d.provenances {
		add(map[string]any{"name": "provenance", "valueReference": ref(p)})
	}
	if h.how == "issued-here" {
		add(map[string]any{"name": "outcome", "resource": json.RawMessage(outcome.JSON(outcome.Info(
			"this server issued the card from the records of Patient/%s, which hold what it says: nothing was imported", d.patientID)))})
	}
	ps = append([]map[string]any{{"name": "result", "valueCode": result}}, ps...)
	out, _ := fhirjson.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
	return out
}
