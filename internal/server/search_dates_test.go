package server_test

import (
	"fmt"
	"math/rand"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
)

// The SQL date semantics equal search.MatchDate, the reference reading of
// https://hl7.org/fhir/R4/search.html#prefix, on random dateTimes and Periods
// of every precision and random search values with every prefix, on both stores.
func TestSearchDatesMatchReference(t *testing.T) {
	zone := time.FixedZone("UTC+07:00", 7*3600)
	rng := rand.New(rand.NewSource(7))
	randomDate := func() string {
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int63n(int64(3 * 365 * 24 * time.Hour))))
		switch rng.Intn(5) {
		case 0:
			return t0.Format("2006")
		case 1:
			return t0.Format("2006-01")
		case 2:
			return t0.Format("2006-01-02")
		case 3:
			return t0.Format("2006-01-02T15:04:05Z")
		default:
			return t0.In(zone).Format("2006-01-02T15:04:05-07:00")
		}
	}
	type obs struct {
		id    string
		rng   search.Range
		value string
	}
	var all []obs
	var body []string
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("d%02d", i)
		var eff string
		var r search.Range
		if i%3 == 0 {
			a, b := randomDate(), randomDate()
			ra, _ := search.IndexDate("dateTime", a, zone)
			rb, _ := search.IndexDate("dateTime", b, zone)
			if rb.Hi < ra.Lo {
				a, b = b, a
			}
			period := map[string]any{"start": a, "end": b}
			if i%9 == 0 {
				delete(period, "end") // open-ended
			}
			r, _ = search.IndexDate("Period", period, zone)
			eff = fmt.Sprintf(`"effectivePeriod":%s`, mustJSON(period))
		} else {
			d := randomDate()
			r, _ = search.IndexDate("dateTime", d, zone)
			eff = fmt.Sprintf(`"effectiveDateTime":%q`, d)
		}
		all = append(all, obs{id: id, rng: r})
		body = append(body, fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1-8"}]},%s}`, id, eff))
	}
	var queries []string
	prefixes := []string{"", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}
	for i := 0; i < 60; i++ {
		queries = append(queries, prefixes[i%len(prefixes)]+randomDate())
	}
	eachStore(t, func(t *testing.T, a *api) {
		for i, b := range body {
			a.want(a.do("PUT", "/Observation/"+all[i].id, b), 201)
		}
		for _, qv := range queries {
			v, err := search.ParseDate(qv, zone)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, o := range all {
				if search.MatchDate(v, o.rng, time.Now()) {
					want = append(want, o.id)
				}
			}
			// Alone, and with an exact code, which drives the search from the
			// token index and narrows it by each row's date span first.
			for _, extra := range []string{"", "&code=http://loinc.org|1-8"} {
				got := matchIDs(t, a.want(a.do("GET", "/Observation?_count=100&date="+url.QueryEscape(qv)+extra, ""), 200).json(t))
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("date=%s%s: got %v, want %v", qv, extra, got, want)
				}
			}
		}
	})
}
