package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/dhis2"
	"github.com/mekong-fhir/mekong/mappings/iom"
	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/th43"
)

// ExportFormats are the formats $export-source writes.
var ExportFormats = []string{TH43, DHIS2, IOMCSV, IOMJSON}

// ExportOptions are the choices an export leaves to the caller.
type ExportOptions struct {
	Options
	// HospCode and TypeArea are the 43-file HOSPCODE and TYPEAREA for
	// patients that did not come from a 43-file export (th43.Config).
	HospCode string
	TypeArea string
}

// Exported is a patient in a source format.
type Exported struct {
	ContentType string
	// Filename is a suggested name for Content-Disposition and --out.
	Filename string
	Body     []byte
	// Omissions are what the format cannot hold; nothing is dropped silently.
	Omissions []mapping.Omission
}

var hospCode = regexp.MustCompile(`^[0-9]{5}$`)

// Export reads Patient/id and every Observation and Immunization about it
// (all pages) and writes them in format: th43 as a ZIP of PERSON, EPI, LABFU
// and SPECIALPP, dhis2 as a tracker payload, iom-csv and iom-json as an IOM
// export. A missing Patient is 404, a deleted one 410.
func Export(ctx context.Context, svc *rest.Service, base, id, format string, opts ExportOptions) (*Exported, error) {
	if err := CheckFormat(format, ExportFormats...); err != nil {
		return nil, err
	}
	if opts.HospCode != "" && !hospCode.MatchString(opts.HospCode) {
		return nil, outcome.Invalid("hospcode %q is not a 5-digit MoPH hospital code", opts.HospCode).At("hospcode")
	}
	rec, err := LoadRecord(ctx, svc, base, id)
	if err != nil {
		return nil, err
	}
	records := []mapping.Record{rec}
	var buf bytes.Buffer
	out := &Exported{}
	switch format {
	case TH43:
		out.ContentType, out.Filename = "application/zip", "th43-"+id+".zip"
		out.Omissions, err = th43.Encode(&buf, records, th43.Config{HospCode: opts.HospCode, TypeArea: opts.TypeArea})
	case DHIS2:
		out.ContentType, out.Filename = "application/json; charset=utf-8", "dhis2-"+id+".json"
		out.Omissions, err = dhis2.Encode(&buf, records, opts.dhis2())
	case IOMCSV:
		out.ContentType, out.Filename = "text/csv; charset=utf-8", "iom-"+id+".csv"
		out.Omissions, err = iom.EncodeCSV(&buf, records, iom.Config{})
	case IOMJSON:
		out.ContentType, out.Filename = "application/json; charset=utf-8", "iom-"+id+".json"
		out.Omissions, err = iom.EncodeJSON(&buf, records, iom.Config{})
	}
	if err != nil {
		return nil, fmt.Errorf("ingest.Export: %w", err)
	}
	out.Body = buf.Bytes()
	return out, nil
}

// LoadRecord reads a stored Patient and the Observations (subject) and
// Immunizations (patient) that refer to it.
func LoadRecord(ctx context.Context, svc *rest.Service, base, id string) (mapping.Record, error) {
	p, err := svc.Read(ctx, rest.Request{Base: base, Type: "Patient", ID: id})
	if err != nil {
		return mapping.Record{}, err
	}
	var resources [][]byte
	for _, q := range []struct{ typ, param string }{{"Observation", "subject"}, {"Immunization", "patient"}} {
		rs, err := searchAll(ctx, svc, base, q.typ, url.Values{q.param: {"Patient/" + id}, "_count": {"1000"}})
		if err != nil {
			return mapping.Record{}, err
		}
		resources = append(resources, rs...)
	}
	rec, err := mapping.NewRecord(p.Body, resources...)
	if err != nil {
		return mapping.Record{}, fmt.Errorf("ingest.LoadRecord: %w", err)
	}
	return rec, nil
}

// searchAll follows a search's next links to the end.
func searchAll(ctx context.Context, svc *rest.Service, base, typ string, query url.Values) ([][]byte, error) {
	var out [][]byte
	for {
		res, err := svc.Search(ctx, rest.Request{Base: base, Type: typ, Query: query})
		if err != nil {
			return nil, err
		}
		var b struct {
			Link []struct {
				Relation string `json:"relation"`
				URL      string `json:"url"`
			} `json:"link"`
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
				Search   struct {
					Mode string `json:"mode"`
				} `json:"search"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(res.Body, &b); err != nil {
			return nil, fmt.Errorf("ingest: reading a %s searchset: %w", typ, err)
		}
		for _, e := range b.Entry {
			if e.Search.Mode == "match" {
				out = append(out, e.Resource)
			}
		}
		next := ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		if next == "" {
			return out, nil
		}
		u, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("ingest: next link of a %s search: %w", typ, err)
		}
		query = u.Query()
	}
}
