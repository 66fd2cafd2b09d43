package ingest

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Report is what an ingest did. Rows are never quoted: a report travels
// further than the data it describes, so it names files, rows, fields and
// identifiers only.
type Report struct {
	Format string `json:"format"`
	// Persons is how many persons the input held; Stored how many
	// transactions committed.
	Persons int `json:"persons"`
	Stored  int `json:"stored"`
	// Resources created, updated (a matched Patient that gained identifiers)
	// and unchanged (conditional creates that found them).
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Failed are persons whose transaction the server refused; nothing of
	// them was stored (unless the reason says otherwise).
	Failed []Failure `json:"failed"`
	// Rejects are input rows that produced nothing (file, row, field, reason).
	Rejects []mapping.Reject `json:"rejects"`
	// Unmapped codes were kept as given and stored.
	Unmapped []mapping.Unmapped `json:"unmapped"`
	Warnings []mapping.Reject   `json:"warnings,omitempty"`
}

// Failure is one person's refused transaction.
type Failure struct {
	Patient string `json:"patient"` // "Patient system|value": the first identifier
	Status  int    `json:"status"`
	Reason  string `json:"reason"`
}

// Problems reports whether anything of the input was not stored.
func (r *Report) Problems() bool { return len(r.Rejects) > 0 || len(r.Failed) > 0 }

// Issues lists the report as OperationOutcome issues: rejects and failures
// are errors, unmapped codes warnings (the code was kept), warnings
// information.
func (r *Report) Issues() []outcome.Issue {
	return reportIssues(r.Rejects, r.Unmapped, r.Warnings, r.Failed)
}

func reportIssues(rejects []mapping.Reject, unmapped []mapping.Unmapped, warnings []mapping.Reject, failed []Failure) []outcome.Issue {
	var out []outcome.Issue
	for _, f := range failed {
		out = append(out, outcome.Issue{Severity: outcome.SevError, Code: outcome.CodeProcessing,
			Diagnostics: fmt.Sprintf("%s: transaction refused (%d): %s", f.Patient, f.Status, f.Reason)})
	}
	for _, rj := range rejects {
		out = append(out, rowIssue(outcome.SevError, outcome.CodeInvalid, rj))
	}
	for _, u := range unmapped {
		is := outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeNotFound,
			Diagnostics: fmt.Sprintf("%s:%d %s: code %q of %s has no crosswalk; kept as given", u.File, u.Row, u.Field, u.Code, u.System)}
		if u.Field != "" {
			is.Expression = []string{u.Field}
		}
		out = append(out, is)
	}
	// A warning is data kept with a caveat (a doubtful identifier, a birth
	// date shortened to its real part) or a column not read.
	for _, w := range warnings {
		out = append(out, rowIssue(outcome.Warning, outcome.CodeInformational, w))
	}
	return out
}

func rowIssue(sev outcome.Severity, code outcome.IssueType, rj mapping.Reject) outcome.Issue {
	is := outcome.Issue{Severity: sev, Code: code, Diagnostics: rj.String()}
	if rj.File == "" {
		is.Diagnostics = rj.Reason
	}
	if rj.Field != "" {
		is.Expression = []string{rj.Field}
	}
	return is
}

// param is a Parameters.parameter.
type param struct {
	Name         string          `json:"name"`
	ValueInteger *int            `json:"valueInteger,omitempty"`
	ValueString  string          `json:"valueString,omitempty"`
	ValueCode    string          `json:"valueCode,omitempty"`
	ValueURI     string          `json:"valueUri,omitempty"`
	Resource     json.RawMessage `json:"resource,omitempty"`
	Part         []param         `json:"part,omitempty"`
}

func intParam(name string, n int) param { return param{Name: name, ValueInteger: &n} }

func strParam(name, v string) param { return param{Name: name, ValueString: v} }

// Parameters renders the report as the $ingest output: the counts, one
// reject, unmapped and failure part per item, and the same as an
// OperationOutcome in "outcome".
func (r *Report) Parameters() []byte {
	ps := []param{
		{Name: "format", ValueCode: r.Format},
		intParam("persons", r.Persons), intParam("stored", r.Stored), intParam("failed", len(r.Failed)),
		intParam("created", r.Created), intParam("updated", r.Updated), intParam("unchanged", r.Unchanged),
		intParam("rejected", len(r.Rejects)), intParam("unmappedCodes", len(r.Unmapped)), intParam("warnings", len(r.Warnings)),
	}
	for _, rj := range r.Rejects {
		parts := []param{strParam("file", rj.File), intParam("row", rj.Row)}
		if rj.Field != "" {
			parts = append(parts, strParam("field", rj.Field))
		}
		ps = append(ps, param{Name: "reject", Part: append(parts, strParam("reason", rj.Reason))})
	}
	for _, wn := range r.Warnings {
		parts := []param{strParam("file", wn.File), intParam("row", wn.Row)}
		if wn.Field != "" {
			parts = append(parts, strParam("field", wn.Field))
		}
		ps = append(ps, param{Name: "warning", Part: append(parts, strParam("reason", wn.Reason))})
	}
	for _, u := range r.Unmapped {
		ps = append(ps, param{Name: "unmapped", Part: []param{strParam("file", u.File), intParam("row", u.Row),
			strParam("field", u.Field), {Name: "system", ValueURI: u.System}, {Name: "code", ValueCode: u.Code}}})
	}
	for _, f := range r.Failed {
		ps = append(ps, param{Name: "failure", Part: []param{strParam("patient", f.Patient), intParam("status", f.Status), strParam("reason", f.Reason)}})
	}
	issues := r.Issues()
	if len(issues) == 0 {
		issues = outcome.Info("%d of %s stored; no row rejected, every code mapped", r.Stored, count(r.Persons, "person"))
	}
	ps = append(ps, param{Name: "outcome", Resource: outcome.JSON(issues)})
	b, err := fhirjson.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter"`
	}{"Parameters", ps})
	if err != nil {
		panic(err) // strings and numbers only
	}
	return b
}

// WriteText writes the report for a terminal: a summary line, then one line
// per failure, reject and unmapped code.
func (r *Report) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s: %s, %d stored, %d failed; resources %d created, %d updated, %d unchanged; %s rejected, %s unmapped\n",
		r.Format, count(r.Persons, "person"), r.Stored, len(r.Failed), r.Created, r.Updated, r.Unchanged,
		count(len(r.Rejects), "row"), count(len(r.Unmapped), "code"))
	for _, f := range r.Failed {
		if err == nil {
			_, err = fmt.Fprintf(w, "failed: %s: %d %s\n", f.Patient, f.Status, f.Reason)
		}
	}
	for _, rj := range r.Rejects {
		if err == nil {
			_, err = fmt.Fprintf(w, "rejected: %s\n", rj)
		}
	}
	for _, u := range r.Unmapped {
		if err == nil {
			_, err = fmt.Fprintf(w, "unmapped: %s:%s %s: %s|%s kept as given\n", u.File, strconv.Itoa(u.Row), u.Field, u.System, u.Code)
		}
	}
	for _, wn := range r.Warnings {
		if err == nil {
			_, err = fmt.Fprintf(w, "warning: %s\n", rowIssue(outcome.Warning, outcome.CodeInformational, wn).Diagnostics)
		}
	}
	return err
}

// count is "1 person", "2 persons".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
