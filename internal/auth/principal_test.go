package auth

import "testing"

// SMART App Launch 2.0 scopes:
// https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
func TestParseScope(t *testing.T) {
	cases := []struct {
		in      string
		ok      bool
		ctx     Context
		typ     string
		actions string
	}{
		{"system/Observation.rs", true, SystemContext, "Observation", "rs"},
		{"user/*.cruds", true, UserContext, "*", "cruds"},
		{"patient/Immunization.r", true, PatientContext, "Immunization", "r"},
		{"user/Patient.read", true, UserContext, "Patient", "rs"},
		{"user/Patient.write", true, UserContext, "Patient", "cud"},
		{"patient/*.*", true, PatientContext, "*", "cruds"},
		{"user/Observation.sr", false, "", "", ""}, // out of order
		{"user/Observation.rr", false, "", "", ""},
		{"user/Observation.", false, "", "", ""},
		{"user/Observation.x", false, "", "", ""},
		{"user/Observation.rs?category=laboratory", false, "", "", ""},
		{"openid", false, "", "", ""},
		{"launch/patient", false, "", "", ""},
		{"admin/Patient.read", false, "", "", ""},
	}
	for _, c := range cases {
		s, ok := ParseScope(c.in)
		if ok != c.ok || s.Context != c.ctx || s.Type != c.typ || s.Actions != c.actions {
			t.Errorf("ParseScope(%q) = %+v, %v; want {%s %s %s}, %v", c.in, s, ok, c.ctx, c.typ, c.actions, c.ok)
		}
	}
}

func TestPrincipal(t *testing.T) {
	parse := func(ss ...string) []Scope {
		var out []Scope
		for _, s := range ss {
			sc, ok := ParseScope(s)
			if !ok {
				t.Fatalf("bad scope %q", s)
			}
			out = append(out, sc)
		}
		return out
	}
	p := &Principal{Scopes: parse("patient/Observation.rs", "user/Patient.r"), Patient: "p1", Labels: []string{"http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV"}}
	if !p.Allows("Observation", Search) || p.Allows("Observation", Create) || p.Allows("Immunization", Read) {
		t.Error("Allows wrong")
	}
	if !p.PatientOnly("Observation", Read) || p.PatientOnly("Patient", Read) {
		t.Error("PatientOnly wrong")
	}
	if !p.MaySee("http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV") || p.MaySee("http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R") {
		t.Error("MaySee wrong")
	}
	var none *Principal
	if none.Allows("Patient", Read) || none.MaySee("x") {
		t.Error("nil principal must allow nothing")
	}
	open := &Principal{Unauthenticated: true}
	if !open.Allows("Patient", Delete) || open.PatientOnly("Patient", Read) || !open.MaySee("x") {
		t.Error("unauthenticated principal must allow everything")
	}
}
