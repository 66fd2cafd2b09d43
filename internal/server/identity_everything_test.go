package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// everythingIDs pages through Patient/[id]/$everything as who and returns
// every resource as Type/id, sorted, with the first page's total.
func (a *idAPI) everythingIDs(who, id string) ([]string, int) {
	a.t.Helper()
	var out []string
	path := "/Patient/" + id + "/$everything?_count=2"
	total := -1
	for path != "" {
		b := a.want(a.as(who, "GET", path, ""), http.StatusOK).json(a.t)
		if total < 0 {
			total = int(b["total"].(float64))
		}
		for _, e := range entries(a.t, b) {
			r := e["resource"].(map[string]any)
			if r["resourceType"] == "OperationOutcome" {
				continue
			}
			out = append(out, r["resourceType"].(string)+"/"+r["id"].(string))
		}
		path = strings.TrimPrefix(link(b, "next"), a.base)
	}
	slices.Sort(out)
	return out, total
}

// Issue 11, the linked record: Patient/[id]/$everything
// (https://hl7.org/fhir/R4/patient-operation-everything.html) on any member
// of a linked set returns the records of every member the caller may read,
// and access rules and labels apply to each; searches stay per Patient
// unless :linked asks for the set; LinkedSet (CONTRACTS §2) is the set as
// the caller may see it.
func TestLinkedEverythingAndSearch(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		pa := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N1"))
		pb := a.create(person("Sok", "Dara", "1990-04-01", thaiCID+"|1100000000001", passportKHM+"|N1"))
		pr := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N1", labelR)) // the same person, a record labelled R
		other := a.create(person("Chan", "Dara", "1985-04-01"))
		oa := a.create(observationOf(pa))
		ob := a.create(observationOf(pb))
		hb := a.create(obs("hivb", pb, "56888-1", "")) // labelled HIV + R on write
		or := a.create(observationOf(pr))
		a.create(observationOf(other))
		a.link()
		// The unlabelled members list each other; the R-labelled one lists
		// them, but they do not list it: a reader of pa may not see pr.
		a.wantLinked("level3", pa, pb)
		if got := a.links(pr); !slices.Equal(got, []string{pa + ":level3", pb + ":level3"}) && !slices.Equal(got, []string{pb + ":level3", pa + ":level3"}) {
			t.Fatalf("pr's links %v", got)
		}

		all := []string{"Observation/" + oa, "Observation/" + ob, "Observation/" + hb, "Observation/" + or, "Patient/" + pa, "Patient/" + pb, "Patient/" + pr}
		slices.Sort(all)
		for _, c := range []struct {
			who, of string
			want    []string
		}{
			{"steward", pa, all},
			{"steward", pr, all},
			{"nurse", pb, []string{"Observation/" + oa, "Observation/" + ob, "Patient/" + pa, "Patient/" + pb}}, // no HIV, no R
			{"patient:" + pa, pa, []string{"Observation/" + oa, "Patient/" + pa}},                               // its own compartment only
		} {
			c.want = slices.Sorted(slices.Values(c.want))
			got, total := a.everythingIDs(c.who, c.of)
			if !slices.Equal(got, c.want) || total != len(c.want) {
				t.Errorf("%s: $everything of %s = %v (total %d), want %v", c.who, c.of, got, total, c.want)
			}
		}
		// Searches stay per Patient unless :linked asks for the set.
		if got := matchIDs(t, a.want(a.as("nurse", "GET", "/Observation?subject=Patient/"+pa, ""), http.StatusOK).json(t)); !slices.Equal(got, []string{oa}) {
			t.Errorf("subject=pa: %v", got)
		}
		got := matchIDs(t, a.want(a.as("nurse", "GET", "/Observation?subject:linked=Patient/"+pa, ""), http.StatusOK).json(t))
		if want := slices.Sorted(slices.Values([]string{oa, ob})); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("nurse subject:linked=pa: %v, want %v", got, want)
		}
		got = matchIDs(t, a.want(a.as("steward", "GET", "/Observation?subject:linked="+pb+"&_count=10", ""), http.StatusOK).json(t))
		if len(got) != 4 {
			t.Errorf("steward subject:linked=pb: %v, want 4 Observations", got)
		}
		got = matchIDs(t, a.want(a.as("nurse", "GET", "/Patient?_id:linked="+pb, ""), http.StatusOK).json(t))
		if want := slices.Sorted(slices.Values([]string{pa, pb})); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("nurse _id:linked=pb: %v", got)
		}
		a.want(a.as("nurse", "GET", "/Observation?subject:Patient:linked=Patient/"+pa, ""), http.StatusBadRequest)
		a.want(a.as("observer", "GET", "/Observation?subject:linked=Patient/"+pa, ""), http.StatusForbidden)

		// LinkedSet, for the IPS, the cards and the clinic page.
		for who, want := range map[string][]string{"steward": {pb, pa, pr}, "nurse": {pb, pa}, "patient:" + pb: {pb}} {
			ctx := context.Background()
			if p := a.principals[who]; p != nil {
				ctx = withPrincipal(ctx, p)
			} else {
				ctx = withPrincipal(ctx, patientApp(strings.TrimPrefix(who, "patient:")))
			}
			set, err := a.svc.LinkedSet(ctx, pb)
			if err != nil {
				t.Fatal(err)
			}
			if set[0] != pb || !slices.Equal(slices.Sorted(slices.Values(set)), slices.Sorted(slices.Values(want))) {
				t.Errorf("%s: LinkedSet(pb) = %v, want %v", who, set, want)
			}
		}
		if set, err := a.svc.LinkedSet(context.Background(), other); err != nil || !slices.Equal(set, []string{other}) {
			t.Errorf("LinkedSet of a Patient without links: %v %v", set, err)
		}
	})
}
