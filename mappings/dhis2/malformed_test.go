package dhis2

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

// Issue 6, "Evidence": a DHIS2 payload with unknown UIDs and other faults
// gets a precise error at the JSON path of the fault; the tracked entity (or
// the enrollment or event alone, when the fault is theirs) is rejected and
// nothing of it is kept.
func TestMalformed(t *testing.T) {
	s := string(sample(t))
	rep := func(old, new string) string {
		out := strings.Replace(s, old, new, 1)
		if out == s {
			t.Fatalf("%q not in the sample", old)
		}
		return out
	}
	te0 := "trackedEntities[0]"
	tests := []struct {
		name      string
		in        string
		persons   int
		resources int // Observations, Immunizations and EpisodeOfCares kept
		want      []mapping.Reject
		absent    string
	}{
		{"unknown attribute UID", rep(`"attribute": "kbPvJ5QNNtx"`, `"attribute": "zzzzzzzzzz1"`), 1, 4,
			[]mapping.Reject{{Row: 1, Field: te0 + ".attributes[9].attribute", Reason: `unknown attribute UID "zzzzzzzzzz1"`}}, "N02345678"},
		{"ignored attribute UID", rep(`"attribute": "kbPvJ5QNNtx"`, `"attribute": "JrETLe1Zsxs"`), 2, 15, nil, ""},
		{"unknown tracked entity type", rep(`"trackedEntityType": "YK0fFWqcajQ"`, `"trackedEntityType": "nEenWmSyUEp"`), 1, 4,
			[]mapping.Reject{{Row: 1, Field: te0 + ".trackedEntityType", Reason: "is not the configured tracked entity type"}}, "ចាន់"},
		{"unknown program UID", rep(`"program": "yHysiRFdlBM"`, `"program": "IpHINAT79UW"`), 2, 11,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[0].program", Reason: `unknown program UID "IpHINAT79UW"`}}, "SINOVAC"},
		{"unknown program stage UID", rep(`"programStage": "yFtOZDuxQk6"`, `"programStage": "A03MvHHogjR"`), 2, 10,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[1].events[0].programStage", Reason: `program stage "A03MvHHogjR" is not a configured stage`}}, "ABNORMAL_TB"},
		{"unknown data element UID", rep(`"dataElement": "TgcPEDU5eOb"`, `"dataElement": "sWoqcoByYmD"`), 2, 10,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[1].events[0].dataValues[3].dataElement", Reason: `unknown data element UID "sWoqcoByYmD"`}}, "MTB_DETECTED"},
		{"bad date", rep(`"occurredAt": "2021-05-10T00:00:00.000"`, `"occurredAt": "2021-05-32T00:00:00.000"`), 2, 14,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[0].events[1].occurredAt", Reason: "not a calendar date"}}, "J202104022"},
		{"bad date of birth", rep(`"value": "1975-08-19"`, `"value": "19/08/1975"`), 1, 11,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes[6].value", Reason: "date of birth"}}, "110456789"},
		{"unknown option code is kept and reported", rep(`"value": "ABNORMAL_TB"`, `"value": "ABNORMAL_SILICOSIS"`), 2, 15, nil, ""},
		{"missing identifiers", rep(`"trackedEntity": "`+uidOf(s, 1)+`",`, ``), 2, 15, nil, ""},
		{"no identifier at all", strings.Replace(rep(`"trackedEntity": "`+uidOf(s, 1)+`",`, ``), `"value": "110456789"`, `"value": ""`, 1), 1, 11,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes", Reason: "no identifier"}}, "SOPHEAP"},
		{"sex option not configured", rep(`"value": "MALE"`, `"value": "M"`), 1, 11,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes[5].value", Reason: `"M" is not a configured sex option`}}, "SOPHEAP"},
		{"truncated payload", s[:strings.Index(s, `"KONG"`)], 1, 11,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1]", Reason: "the rest of the payload cannot be read"}}, "KONG"},
		{"not a tracker payload", `{"events": []}`, 0, 0,
			[]mapping.Reject{{Row: 0, Field: "trackedEntities", Reason: "no trackedEntities array"}}, ""},
		{"wrong member type", rep(`"dataValues": [`, `"dataValues": "none", "x": [`), 1, 4,
			[]mapping.Reject{{Row: 1, Field: "trackedEntities[0].enrollments.events.dataValues", Reason: "unreadable"}}, "SINOVAC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Decode(strings.NewReader(tc.in), ExampleConfig())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejects) != len(tc.want) {
				t.Fatalf("rejects = %v, want %v", res.Rejects, tc.want)
			}
			for i, w := range tc.want {
				got := res.Rejects[i]
				if got.File != "payload.json" || got.Row != w.Row || got.Field != w.Field || !strings.Contains(got.Reason, w.Reason) {
					t.Errorf("reject %d = %+v, want %+v", i, got, w)
				}
			}
			n := 0
			for _, p := range res.Persons {
				n += len(p.Observations) + len(p.Immunizations) + len(p.Episodes)
			}
			if len(res.Persons) != tc.persons || n != tc.resources {
				t.Errorf("%d persons, %d resources; want %d, %d", len(res.Persons), n, tc.persons, tc.resources)
			}
			bundle := res.Bundle()
			mappingtest.CheckBundle(t, bundle)
			if tc.absent != "" && bytes.Contains(bundle, []byte(tc.absent)) {
				t.Errorf("%s from a rejected unit reached the Bundle", tc.absent)
			}
		})
	}
}

// uidOf returns the n-th (0-based) tracked entity UID of the sample.
func uidOf(s string, n int) string {
	for i := 0; ; i++ {
		k := strings.Index(s, `"trackedEntity": "`)
		s = s[k+len(`"trackedEntity": "`):]
		if i == n {
			return s[:11]
		}
	}
}

func TestUnknownOptionIsReported(t *testing.T) {
	in := strings.Replace(string(sample(t)), `"value": "ABNORMAL_TB"`, `"value": "ABNORMAL_SILICOSIS"`, 1)
	res, _ := Decode(strings.NewReader(in), ExampleConfig())
	if len(res.Unmapped) != 1 || res.Unmapped[0].Code != "ABNORMAL_SILICOSIS" || res.Unmapped[0].Row != 1 ||
		res.Unmapped[0].Field != "trackedEntities[0].enrollments[1].events[0] NySMruPzFUY" {
		t.Fatalf("unmapped %v", res.Unmapped)
	}
	if !strings.Contains(string(res.Bundle()), `"code": "ABNORMAL_SILICOSIS"`) {
		t.Error("the option code is not kept")
	}
}

func TestDuplicateEvent(t *testing.T) {
	s := string(sample(t))
	// The same tracked entity twice: its events are duplicates of the first.
	i := strings.Index(s, `    {
      "trackedEntity"`)
	j := strings.Index(s[i+10:], `    {
      "trackedEntity"`) + i + 10
	dup := s[:j] + s[i:j] + s[j:]
	res, err := Decode(strings.NewReader(dup), ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) != 1 || res.Rejects[0].Row != 2 || !strings.Contains(res.Rejects[0].Reason, "duplicate of payload.json tracked entity 1") {
		t.Fatalf("rejects %v", res.Rejects)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte(`{"trackedEntities":[{"trackedEntityType":"YK0fFWqcajQ","orgUnit":"BC7xcTfp0MO","attributes":[{"attribute":"ZmU3A6IIRgm","value":"1"},{"attribute":"m0P6xF716mG","value":"A"}],
	 "enrollments":[{"program":"ANFrMEQEFjU","orgUnit":"BC7xcTfp0MO","enrolledAt":"2024-01-01","events":[{"programStage":"yFtOZDuxQk6","orgUnit":"BC7xcTfp0MO","occurredAt":"2024-01-01T10:00","dataValues":[{"dataElement":"i08m67CEXCC","value":"1e3"}]}]}]}]}`))
	f.Add([]byte(`{"instances":[null,{},[]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Decode(bytes.NewReader(data), ExampleConfig())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rejects {
			if r.Reason == "" || r.Row < 0 {
				t.Fatalf("bad reject %+v", r)
			}
		}
		if len(res.Persons) > 0 {
			mappingtest.CheckBundle(t, res.Bundle())
		}
	})
}
