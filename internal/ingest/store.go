package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Ingest stores a decoded result: each person's transaction Bundle goes
// through svc.Bundle on its own, so one person's failure never blocks
// another's and nothing partial of a person is stored. Patients are
// conditional creates on any of their identifiers; when one matches a stored
// Patient, the identifiers and names only the incoming one has are added
// with mapping.MergePatient and an update with If-Match, so a migrant seen by
// IOM and then by a Thai hospital is one Patient with both identifiers.
// Resource types the service does not serve (EpisodeOfCare, from DHIS2
// enrollments) are left out and counted in a warning. progress, if not nil,
// is called after each person. The error is non-nil only for a fault of the
// server (the store failing, ctx cancelled); the report then covers the
// persons done so far.
func Ingest(ctx context.Context, svc *rest.Service, base string, format string, res *mapping.Result, progress func(done, total int)) (*Report, error) {
	rep := &Report{Format: format, Persons: len(res.Persons), Rejects: res.Rejects, Unmapped: res.Unmapped, Warnings: res.Warnings}
	episodes := slices.Contains(svc.Types(), "EpisodeOfCare")
	skipped := 0
	for i := range res.Persons {
		p := res.Persons[i] // a copy: the Result stays as decoded
		if !episodes {
			skipped += len(p.Episodes)
			p.Episodes = nil
		}
		if err := storePerson(ctx, svc, base, i, &p, rep); err != nil {
			return rep, err
		}
		if progress != nil {
			progress(i+1, len(res.Persons))
		}
	}
	if skipped > 0 {
		rep.Warnings = append(rep.Warnings, mapping.Reject{Reason: fmt.Sprintf(
			"%d EpisodeOfCare resources (DHIS2 enrollments) not stored: this server serves %s", skipped, strings.Join(svc.Types(), ", "))})
	}
	return rep, nil
}

// transactionResponse is the part of a transaction-response Bundle read back.
type transactionResponse struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
		Response struct {
			Status string `json:"status"`
			Etag   string `json:"etag"`
		} `json:"response"`
	} `json:"entry"`
}

// storePerson stores the n-th person (0-based). Errors returned are server
// faults and get logged, so they name the person by position, never by an
// identifier: identifiers are patient data. The report, which goes back to
// whoever sent the data, names the identifier.
func storePerson(ctx context.Context, svc *rest.Service, base string, n int, p *mapping.Person, rep *Report) error {
	who := "Patient " + p.Patient.Identifier[0].Key()
	res, err := svc.Bundle(ctx, rest.Request{Base: base, Body: p.Bundle()})
	if err != nil {
		oe, ok := outcome.As(err)
		if !ok || ctx.Err() != nil {
			return fmt.Errorf("ingest: person %d: %w", n+1, err)
		}
		rep.Failed = append(rep.Failed, Failure{Patient: who, Status: oe.Status, Reason: diagnostics(oe)})
		return nil
	}
	var tr transactionResponse
	if err := json.Unmarshal(res.Body, &tr); err != nil {
		return fmt.Errorf("ingest: reading the transaction response: %w", err)
	}
	rep.Stored++
	for _, e := range tr.Entry {
		if strings.HasPrefix(e.Response.Status, "201") {
			rep.Created++
		} else {
			rep.Unchanged++
		}
	}
	// The Patient is the first entry; 200 means the conditional create found it.
	if len(tr.Entry) == 0 || !strings.HasPrefix(tr.Entry[0].Response.Status, "200") {
		return nil
	}
	incoming, err := fhirjson.Marshal(p.Patient)
	if err != nil {
		return err
	}
	updated, err := mergeInto(ctx, svc, base, tr.Entry[0].Resource, tr.Entry[0].Response.Etag, incoming)
	if err != nil {
		oe, ok := outcome.As(err)
		if !ok || ctx.Err() != nil {
			return fmt.Errorf("ingest: person %d: merging identifiers: %w", n+1, err)
		}
		rep.Failed = append(rep.Failed, Failure{Patient: who, Status: oe.Status,
			Reason: "stored, but the identifiers and names new to the matched Patient were not added: " + diagnostics(oe)})
		return nil
	}
	if updated {
		rep.Unchanged--
		rep.Updated++
	}
	return nil
}

// mergeInto adds what incoming knows to the stored Patient. If-Match makes a
// concurrent change to the Patient a 412 instead of a lost update; the merge
// is then done again on the newer version, a few times at most.
func mergeInto(ctx context.Context, svc *rest.Service, base string, stored []byte, etag string, incoming []byte) (bool, error) {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(stored, &head); err != nil {
		return false, err
	}
	for attempt := 0; ; attempt++ {
		merged, changed, err := mapping.MergePatient(stored, incoming)
		if err != nil || !changed {
			return false, err
		}
		_, err = svc.Update(ctx, rest.Request{Base: base, Type: "Patient", ID: head.ID, Body: merged, IfMatch: etag})
		oe, ok := outcome.As(err)
		if err == nil || !ok || oe.Status != http.StatusPreconditionFailed || attempt == 2 {
			return err == nil, err
		}
		cur, err := svc.Read(ctx, rest.Request{Base: base, Type: "Patient", ID: head.ID})
		if err != nil {
			return false, err
		}
		stored, etag = cur.Body, rest.ETag(cur.Version)
	}
}

func diagnostics(oe *outcome.Error) string {
	var parts []string
	for _, is := range oe.Issues {
		d := is.Diagnostics
		if len(is.Expression) > 0 {
			d += " (" + strings.Join(is.Expression, ", ") + ")"
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "; ")
}
