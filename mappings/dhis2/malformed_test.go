package dhis2

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

// Issue 6, "Evidence": a DHIS2 payload with unknown UIDs and other faults
// gets a precise error at the JSON path of the fault. Issue 11: a fault in
// one value never costs the person; it is a warning and the rest is kept.
// Only a tracked entity that nothing identifies (or that is not a person),
// or an enrollment or event whose own structure is wrong, is rejected, and
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
		warns     []mapping.Reject
		present   string
	}{
		{"unknown attribute UID is not read", rep(`"attribute": "kbPvJ5QNNtx"`, `"attribute": "zzzzzzzzzz1"`), 2, 15, nil, "",
			[]mapping.Reject{{Row: 1, Field: te0 + ".attributes[9].attribute", Reason: `unknown attribute UID "zzzzzzzzzz1": not read`}}, ""},
		{"ignored attribute UID", rep(`"attribute": "kbPvJ5QNNtx"`, `"attribute": "JrETLe1Zsxs"`), 2, 15, nil, "", nil, ""},
		{"unknown tracked entity type", rep(`"trackedEntityType": "YK0fFWqcajQ"`, `"trackedEntityType": "nEenWmSyUEp"`), 1, 4,
			[]mapping.Reject{{Row: 1, Field: te0 + ".trackedEntityType", Reason: "is not the configured tracked entity type"}}, "ចាន់", nil, ""},
		{"unknown program UID", rep(`"program": "yHysiRFdlBM"`, `"program": "IpHINAT79UW"`), 2, 11,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[0].program", Reason: `unknown program UID "IpHINAT79UW"`}}, "SINOVAC", nil, ""},
		{"unknown program stage UID", rep(`"programStage": "yFtOZDuxQk6"`, `"programStage": "A03MvHHogjR"`), 2, 10,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[1].events[0].programStage", Reason: `program stage "A03MvHHogjR" is not a configured stage`}}, "ABNORMAL_TB", nil, ""},
		{"unknown data element UID is not read", rep(`"dataElement": "TgcPEDU5eOb"`, `"dataElement": "sWoqcoByYmD"`), 2, 14, nil, "",
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[1].events[0].dataValues[3].dataElement", Reason: `unknown data element UID "sWoqcoByYmD" for stage yFtOZDuxQk6: not read`}}, "MTB_DETECTED"},
		{"bad date", rep(`"occurredAt": "2021-05-10T00:00:00.000"`, `"occurredAt": "2021-05-32T00:00:00.000"`), 2, 14,
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[0].events[1].occurredAt", Reason: "not a calendar date"}}, "J202104022", nil, ""},
		{"unreadable date of birth is left out", rep(`"value": "1975-08-19"`, `"value": "19/08/1975"`), 2, 15, nil, "1975",
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes[6].value", Reason: "date of birth: \"19/08/1975\" is not a date (YYYY-MM-DD); the date was left out"}}, "110456789"},
		{"impossible date of birth keeps its year and month", rep(`"value": "1975-08-19"`, `"value": "1975-02-30"`), 2, 15, nil, "",
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes[6].value", Reason: "kept 1975-02"}}, `"birthDate": "1975-02"`},
		{"unknown option code is kept and reported", rep(`"value": "ABNORMAL_TB"`, `"value": "ABNORMAL_SILICOSIS"`), 2, 15, nil, "", nil, ""},
		{"missing identifiers", rep(`"trackedEntity": "`+uidOf(s, 1)+`",`, ``), 2, 15, nil, "", nil, ""},
		{"no identifier at all", strings.Replace(rep(`"trackedEntity": "`+uidOf(s, 1)+`",`, ``), `"value": "110456789"`, `"value": ""`, 1), 1, 11,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes", Reason: "no identifier"}}, "SOPHEAP", nil, ""},
		// Issue 11: "A row is rejected only when nothing identifies the
		// person at all." Both identifiers of the tracked entity malformed:
		// it is kept with its enrollments and events, both identifiers
		// doubtful, and the conditional create finds it again by exactly those.
		{"only doubtful identifiers keeps the person", strings.Replace(rep(`"trackedEntity": "`+uidOf(s, 1)+`"`, `"trackedEntity": "te/0002"`), `"value": "110456789"`, `"value": "110 456 789"`, 1), 2, 15, nil, "",
			[]mapping.Reject{
				{Row: 2, Field: "trackedEntities[1].trackedEntity", Reason: "kept as a doubtful identifier"},
				{Row: 2, Field: "trackedEntities[1].attributes[0].value", Reason: "kept as a doubtful identifier"},
			},
			`"ifNoneExist": "identifier=https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://mekong-fhir.github.io/fhir/sid/dhis2-khm/trackedEntity|te/0002` +
				`&identifier=https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://mekong-fhir.github.io/fhir/sid/khm-national-id|110%20456%20789` +
				`&birthdate=1975-08-19&gender=male"`},
		{"sex option not configured is left out", rep(`"value": "MALE"`, `"value": "M"`), 2, 15, nil, "",
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes[5].value", Reason: `"M" is not a configured sex option: sex left out`}}, "SOPHEAP"},
		// Issue 11: "a DHIS2 payload whose sex attribute says Female where the
		// instance configuration lists FEMALE rejects the whole tracked entity".
		{"sex option differing only in case maps as configured", rep(`"value": "FEMALE"`, `"value": "Female"`), 2, 15, nil, "",
			[]mapping.Reject{{Row: 1, Field: te0 + ".attributes[6].value", Reason: `option code "Female" differs from the configured "FEMALE" only in case: mapped as "FEMALE"`}}, `"gender": "female"`},
		{"data element option differing only in case maps as known", rep(`"value": "ABNORMAL_TB"`, `"value": "Abnormal_TB"`), 2, 15, nil, "Abnormal_TB",
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[1].events[0] NySMruPzFUY", Reason: `option code "Abnormal_TB" differs from the known "ABNORMAL_TB" only in case`}}, "ABNORMAL_TB"},
		{"malformed identifier attribute is kept as doubtful", rep(`"value": "110456789"`, `"value": "110 456 789"`), 2, 15, nil, "",
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].attributes[0].value", Reason: "kept as a doubtful identifier"}}, `"value": "110 456 789"`},
		{"a result that is not a number loses only that result", rep(`"value": "1250"`, `"value": "about 1250"`), 2, 14,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1].enrollments[0].events[0].dataValues", Reason: `"about 1250" is not a number: this result was left out`}}, "about 1250", nil, ""},
		{"bad dose number keeps the vaccination", rep(`"dataElement": "UY9lbbIhqLZ",
                  "value": "1"`, `"dataElement": "UY9lbbIhqLZ",
                  "value": "first"`), 2, 15, nil, "",
			[]mapping.Reject{{Row: 1, Field: te0 + ".enrollments[0].events[0].dataValues", Reason: `dose number "first" is not a positive integer: the vaccination is kept without it`}}, ""},
		{"truncated payload", s[:strings.Index(s, `"KONG"`)], 1, 11,
			[]mapping.Reject{{Row: 2, Field: "trackedEntities[1]", Reason: "the rest of the payload cannot be read"}}, "KONG", nil, ""},
		{"not a tracker payload", `{"events": []}`, 0, 0,
			[]mapping.Reject{{Row: 0, Field: "trackedEntities", Reason: "no trackedEntities array"}}, "", nil, ""},
		{"wrong member type", rep(`"dataValues": [`, `"dataValues": "none", "x": [`), 1, 4,
			[]mapping.Reject{{Row: 1, Field: "trackedEntities[0].enrollments.events.dataValues", Reason: "unreadable"}}, "SINOVAC", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Decode(strings.NewReader(tc.in), ExampleConfig())
			if err != nil {
				t.Fatal(err)
			}
			for _, rs := range [][]mapping.Reject{tc.want, tc.warns} {
				for i := range rs {
					rs[i].File = "payload.json"
				}
			}
			mappingtest.CheckRows(t, "rejects", res.Rejects, tc.want)
			mappingtest.CheckRows(t, "warnings", res.Warnings, tc.warns)
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
			if tc.present != "" && !bytes.Contains(bundle, []byte(tc.present)) {
				t.Errorf("the Bundle lacks %s", tc.present)
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
