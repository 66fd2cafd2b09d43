package healthcard

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary is what a card holds, in plain words.
type Summary struct {
	Name         string
	BirthDate    string
	Vaccinations []Vaccination
	Tests        []TestResult
	Other        []string // resource types not described
}

// Vaccination is one Immunization of a card.
type Vaccination struct {
	Vaccine, Date, Lot, Given, Status string
	COVID19                           bool
}

// TestResult is one Observation of a card.
type TestResult struct {
	Test, Date, Result string
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type concept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

// Summarize reads a card's fhirBundle.
func Summarize(bundle []byte) (*Summary, error) {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("the card's fhirBundle is not a Bundle: %v", err)
	}
	s := &Summary{}
	for _, e := range b.Entry {
		var r struct {
			ResourceType string `json:"resourceType"`
			Name         []struct {
				Family string   `json:"family"`
				Given  []string `json:"given"`
				Text   string   `json:"text"`
			} `json:"name"`
			BirthDate   string  `json:"birthDate"`
			Status      string  `json:"status"`
			VaccineCode concept `json:"vaccineCode"`
			Occurrence  string  `json:"occurrenceDateTime"`
			Lot         string  `json:"lotNumber"`
			Performer   []struct {
				Actor struct {
					Display string `json:"display"`
				} `json:"actor"`
			} `json:"performer"`
			Code      concept  `json:"code"`
			Effective string   `json:"effectiveDateTime"`
			ValueCC   *concept `json:"valueCodeableConcept"`
			ValueQ    *struct {
				Value json.Number `json:"value"`
				Unit  string      `json:"unit"`
			} `json:"valueQuantity"`
			ValueString string `json:"valueString"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			return nil, fmt.Errorf("a resource of the card cannot be read: %v", err)
		}
		switch r.ResourceType {
		case "Patient":
			var names []string
			for _, n := range r.Name {
				switch {
				case n.Family != "" || len(n.Given) > 0:
					names = append(names, strings.TrimSpace(strings.Join(n.Given, " ")+" "+n.Family))
				case n.Text != "":
					names = append(names, n.Text)
				}
			}
			s.Name, s.BirthDate = strings.Join(names, " / "), r.BirthDate
		case "Immunization":
			v := Vaccination{Date: day(r.Occurrence), Lot: r.Lot, Status: r.Status}
			v.Vaccine, v.COVID19 = vaccineName(r.VaccineCode)
			for _, p := range r.Performer {
				if p.Actor.Display != "" {
					v.Given = p.Actor.Display
				}
			}
			s.Vaccinations = append(s.Vaccinations, v)
		case "Observation":
			t := TestResult{Test: testName(r.Code), Date: day(r.Effective)}
			switch {
			case r.ValueCC != nil:
				t.Result = resultName(*r.ValueCC)
			case r.ValueQ != nil:
				t.Result = strings.TrimSpace(r.ValueQ.Value.String() + " " + r.ValueQ.Unit)
			default:
				t.Result = r.ValueString
			}
			s.Tests = append(s.Tests, t)
		default:
			s.Other = append(s.Other, r.ResourceType)
		}
	}
	return s, nil
}

func day(dt string) string {
	if len(dt) >= 10 {
		if t, err := time.Parse("2006-01-02", dt[:10]); err == nil {
			return t.Format("2 January 2006")
		}
	}
	return dt
}

func vaccineName(c concept) (string, bool) {
	for _, cd := range c.Coding {
		if n, ok := covidVaccines[cd.System+"|"+cd.Code]; ok {
			return "COVID-19: " + n, true
		}
	}
	for _, cd := range c.Coding {
		if n, ok := otherVaccines[cd.System+"|"+cd.Code]; ok {
			return n, false
		}
	}
	return codesOf(c), false
}

func testName(c concept) string {
	for _, cd := range c.Coding {
		if n, ok := sarsCoV2Tests[cd.System+"|"+cd.Code]; ok {
			return n
		}
	}
	return codesOf(c)
}

func resultName(c concept) string {
	for _, cd := range c.Coding {
		if n, ok := resultWords[cd.System+"|"+cd.Code]; ok {
			return n
		}
	}
	return codesOf(c)
}

func codesOf(c concept) string {
	var out []string
	for _, cd := range c.Coding {
		s := "code " + cd.Code + " (" + cd.System + ")"
		if cd.Display != "" {
			s = cd.Display + " [" + s + "]"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return c.Text
	}
	return strings.Join(out, ", ")
}

// Report writes a verification result for a person at a border desk.
func Report(w io.Writer, r *Result) {
	verdict := map[Status]string{Valid: "VALID", Invalid: "NOT VALID", UnknownIssuer: "UNKNOWN ISSUER"}[r.Status]
	fmt.Fprintf(w, "SMART Health Card: %s\n", verdict)
	if r.Problem != "" {
		fmt.Fprintf(w, "  Why: %s\n", r.Problem)
	}
	if r.Issuer != "" {
		name := r.Issuer
		if r.IssuerName != "" {
			name = r.IssuerName + " (" + r.Issuer + ")"
		}
		fmt.Fprintf(w, "Issued by: %s\n", name)
	}
	if r.JWS != nil {
		fmt.Fprintf(w, "Issued on: %s\n", r.JWS.IssuedAt().Format("2 January 2006"))
	}
	fmt.Fprintf(w, "Signature:  %s%s\n", r.Signature.State, detail(r.Signature))
	fmt.Fprintf(w, "Expiry:     %s%s\n", r.Expiry.State, detail(r.Expiry))
	fmt.Fprintf(w, "Revocation: %s%s\n", r.Revocation.State, detail(r.Revocation))
	if r.JWS == nil {
		return
	}
	s, err := Summarize(r.Bundle())
	if err != nil {
		fmt.Fprintf(w, "Contents: %v\n", err)
		return
	}
	if r.Status != Valid {
		fmt.Fprintln(w, "The card is NOT valid: do not rely on what it says below.")
	}
	fmt.Fprintf(w, "Person: %s, born %s\n", orUnknown(s.Name), orUnknown(day(s.BirthDate)))
	if len(s.Vaccinations) > 0 {
		fmt.Fprintf(w, "Vaccinations (%d):\n", len(s.Vaccinations))
		for i, v := range s.Vaccinations {
			fmt.Fprintf(w, "  %d. %s on %s", i+1, v.Vaccine, orUnknown(v.Date))
			if v.Given != "" {
				fmt.Fprintf(w, " at %s", v.Given)
			}
			if v.Lot != "" {
				fmt.Fprintf(w, ", lot %s", v.Lot)
			}
			if v.Status != "" && v.Status != "completed" {
				fmt.Fprintf(w, " (%s)", v.Status)
			}
			fmt.Fprintln(w)
		}
	}
	if len(s.Tests) > 0 {
		fmt.Fprintf(w, "Test results (%d):\n", len(s.Tests))
		for i, t := range s.Tests {
			fmt.Fprintf(w, "  %d. %s on %s: %s\n", i+1, t.Test, orUnknown(t.Date), orUnknown(t.Result))
		}
	}
}

func detail(c Check) string {
	if c.Detail == "" {
		return ""
	}
	return " (" + c.Detail + ")"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
