package bulk

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/store"
)

// patientCompartment names, per type, the reference search parameters
// that put a resource in a Patient's compartment
// (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), for
// Patient/$export. It lists only the types Mekong serves; another engineer
// is adding search.PatientCompartment, which should replace this map.
var patientCompartment = map[string][]string{
	"Observation":  {"subject", "performer"},
	"Immunization": {"patient"},
}

// ExportSpec is what an export writes.
type ExportSpec struct {
	Types []string  `json:"types"`
	Since time.Time `json:"since,omitzero"`
	// Patient is Patient/$export: Patients and the resources in their compartments.
	Patient bool `json:"patient,omitempty"`
	// Client is who kicked the export off (owner.go).
	Client string `json:"client,omitempty"`
}

// ExportState is the progress of an export: everything before it has been
// committed as files, so a resumed export continues from it.
type ExportState struct {
	TypeIndex int    `json:"typeIndex"`
	After     string `json:"after"`
	NextFile  int    `json:"nextFile"`
	Written   int64  `json:"written"`
}

// Exporter writes NDJSON files of stored bytes, never re-encoded, and of
// AuditEvents rendered from the audit log.
type Exporter struct {
	Store store.Bulk
	// Log serves AuditEvent (only exported when _type names it).
	Log store.AuditLog
	// PerFile is the most resources in one file (default 10,000).
	PerFile int
}

// Export writes the files of spec from state on, calling emit with each
// file and the state after it; emit commits both together.
func (ex *Exporter) Export(ctx context.Context, spec ExportSpec, st ExportState, emit func(store.File, ExportState) error) error {
	per := ex.PerFile
	if per <= 0 {
		per = 10_000
	}
	for ; st.TypeIndex < len(spec.Types); st.TypeIndex, st.After = st.TypeIndex+1, "" {
		typ := spec.Types[st.TypeIndex]
		if typ == "AuditEvent" {
			if err := ex.exportAuditEvents(ctx, spec, &st, per, emit); err != nil {
				return err
			}
			continue
		}
		q := store.ExportQuery{Type: typ, Since: spec.Since}
		if spec.Patient {
			q.CompartmentParams = patientCompartment[typ]
			if typ != "Patient" && len(q.CompartmentParams) == 0 {
				continue // not in the patient compartment
			}
		}
		for exhausted := false; !exhausted; {
			q.After = st.After
			var buf bytes.Buffer
			n, last := 0, st.After
			for n < per && !exhausted {
				want := min(1000, per-n)
				page, err := ex.Store.ExportPage(ctx, q, want)
				if err != nil {
					return err
				}
				for _, v := range page {
					buf.Write(v.Content)
					buf.WriteByte('\n')
					last = v.ID
				}
				n += len(page)
				exhausted = len(page) < want
				q.After = last
			}
			if n == 0 {
				break
			}
			next := st
			next.After, next.NextFile, next.Written = last, st.NextFile+1, st.Written+int64(n)
			f := store.File{Kind: store.FileOutput, N: st.NextFile, Type: typ, Count: int64(n), Content: buf.Bytes()}
			if err := emit(f, next); err != nil {
				return err
			}
			st = next
		}
	}
	return nil
}

// auditExportDone is the state of an AuditEvent export whose last file is
// written (no cursor of the log looks like it).
const auditExportDone = "~"

// exportAuditEvents writes the audit log's events in the order recorded,
// from the cursor in st.After on.
func (ex *Exporter) exportAuditEvents(ctx context.Context, spec ExportSpec, st *ExportState, per int, emit func(store.File, ExportState) error) error {
	if ex.Log == nil {
		return errors.New("bulk: this store keeps no audit log")
	}
	if st.After == auditExportDone {
		return nil // resumed after the last file was committed
	}
	q := store.AuditQuery{Ascending: true, AnyPatient: spec.Patient}
	if !spec.Since.IsZero() {
		q.Dates = [][]store.AuditRange{{{Lo: spec.Since.UnixMicro()}}}
	}
	for {
		var buf bytes.Buffer
		n, cursor := 0, st.After
		for n < per {
			q.Cursor, q.Count = cursor, min(1000, per-n)
			page, err := ex.Log.SearchAudit(ctx, q)
			if err != nil {
				return err
			}
			for i := range page.Records {
				buf.Write(audit.Render(&page.Records[i]))
				buf.WriteByte('\n')
			}
			n += len(page.Records)
			if page.Next == "" {
				cursor = auditExportDone
				break
			}
			cursor = page.Next
		}
		if n == 0 {
			return nil
		}
		next := *st
		next.After, next.NextFile, next.Written = cursor, st.NextFile+1, st.Written+int64(n)
		f := store.File{Kind: store.FileOutput, N: st.NextFile, Type: "AuditEvent", Count: int64(n), Content: buf.Bytes()}
		if err := emit(f, next); err != nil {
			return err
		}
		*st = next
		if cursor == auditExportDone {
			return nil
		}
	}
}
