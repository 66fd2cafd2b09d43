package server_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// TestSummaryAuditRefused: issue 12 ("Each call is audited") and IHE BALP
// (https://profiles.ihe.net/ITI/BALP/): a $summary refused for access (403),
// for a deleted Patient (410) or an unknown or unseen one (404) is still
// recorded as the $summary operation on that patient, with a failure
// outcome, not as a generic read.
func TestSummaryAuditRefused(t *testing.T) {
	eachSummaryStore(t, func(t *testing.T, a *authAPI) {
		admin := a.mint("user/*.cruds mekong/label.*", "")
		auditor := a.mint("user/AuditEvent.rs mekong/label.*", "")
		a.want(a.as(admin, "PUT", "/Patient/gone", `{"resourceType":"Patient","id":"gone"}`), 201)
		a.want(a.as(admin, "DELETE", "/Patient/gone", ""), 200)
		op := base64.StdEncoding.EncodeToString([]byte("$summary"))
		for _, c := range []struct {
			name, tok, method, patient string
			status                     int
		}{
			{"no Patient read", a.mint("user/Observation.rs user/Immunization.rs", ""), "GET", "sokha", 403},
			{"no scopes", a.mint("openid", ""), "POST", "sokha", 403},
			{"another patient's app", a.mint("patient/*.rs", "other"), "GET", "sokha", 404},
			{"deleted", a.mint("user/*.rs", ""), "GET", "gone", 410},
			{"unknown", a.mint("user/*.rs", ""), "POST", "nobody", 404},
		} {
			failed := func() (n int) {
				b := a.want(a.as(auditor, "GET", "/AuditEvent?patient=Patient/"+c.patient+"&_count=100", ""), 200).json(t)
				for _, e := range asList(b["entry"]) {
					ev := e.(map[string]any)["resource"].(map[string]any)
					raw := string(mustJSON(ev))
					if ev["outcome"] == "0" || !strings.Contains(raw, op) {
						continue
					}
					n++
					if !strings.Contains(raw, `"code":"operation"`) || strings.Contains(raw, `"code":"create"`) {
						t.Errorf("%s: the refused $summary is not audited as the operation: %s", c.name, raw)
					}
				}
				return n
			}
			before := failed()
			a.want(a.as(c.tok, c.method, "/Patient/"+c.patient+"/$summary", ""), c.status)
			if after := failed(); after != before+1 {
				t.Errorf("%s: %d failed AuditEvents naming $summary for Patient/%s after the call, want %d", c.name, after, c.patient, before+1)
			}
		}
	})
}

// TestSummaryAuditUnauthenticated: a $summary refused before the operation
// ran (no token: 401) is still recorded as the $summary operation (BALP; a
// failed POST is not a "create", a failed GET not a "read").
func TestSummaryAuditUnauthenticated(t *testing.T) {
	eachSummaryStore(t, func(t *testing.T, a *authAPI) {
		auditor := a.mint("user/AuditEvent.rs mekong/label.*", "")
		op := base64.StdEncoding.EncodeToString([]byte("$summary"))
		for _, method := range []string{"GET", "POST"} {
			r := a.do(method, "/Patient/sokha/$summary", "")
			if r.status != 401 {
				t.Fatalf("%s without a token: %d", method, r.status)
			}
		}
		b := a.want(a.as(auditor, "GET", "/AuditEvent?patient=Patient/sokha&_count=100", ""), 200).json(t)
		n := 0
		for _, e := range asList(b["entry"]) {
			ev := e.(map[string]any)["resource"].(map[string]any)
			raw := string(mustJSON(ev))
			if strings.Contains(raw, `"code":"read"`) || strings.Contains(raw, `"code":"create"`) {
				t.Errorf("a refused $summary is audited as a read or create: %s", raw)
			}
			if ev["outcome"] != "0" && strings.Contains(raw, op) && strings.Contains(raw, `"code":"operation"`) {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d failed $summary operation AuditEvents, want 2: %.3000s", n, mustJSON(b))
		}
	})
}

// TestSummaryNoTraceOfHidden: the label filter runs before the document is
// assembled (issue 12; IPS STU2 Privacy and Security Considerations:
// sensitive data excluded for a recipient without authorization). The
// document a caller without HIV/TB permission gets is the document it
// would get had the HIV and TB results never existed: same entries, same
// narrative, same counts, same high-water mark, byte for byte once the
// identifier, timestamps and generated uuids are set aside.
func TestSummaryNoTraceOfHidden(t *testing.T) {
	volatile := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	eachSummaryStore(t, func(t *testing.T, a *authAPI) {
		admin := a.mint("user/*.cruds mekong/label.*", "")
		for _, scope := range []struct{ scope, patient string }{{"user/*.rs", ""}, {"patient/*.rs", "sokha"}} {
			tok := a.mint(scope.scope, scope.patient)
			before := summaryDoc(t, a.as(tok, "GET", "/Patient/sokha/$summary", "")).raw
			for _, id := range []string{"hiv-screen", "hiv-vl", "tb-xpert"} {
				a.want(a.as(admin, "DELETE", "/Observation/"+id, ""), 200)
			}
			after := summaryDoc(t, a.as(tok, "GET", "/Patient/sokha/$summary", "")).raw
			if b, f := volatile.ReplaceAllString(before, "X"), volatile.ReplaceAllString(after, "X"); b != f {
				i := 0
				for i < len(b) && i < len(f) && b[i] == f[i] {
					i++
				}
				t.Errorf("%s: the document differs once the hidden results are gone, at ...%s... vs ...%s...", scope.scope,
					b[max(0, i-120):min(len(b), i+120)], f[max(0, i-120):min(len(f), i+120)])
			}
			for _, f := range summaryFixtures {
				if strings.Contains(f.path, "hiv") || strings.Contains(f.path, "tb-") {
					a.want(a.as(admin, "PUT", f.path, f.body), 201)
				}
			}
		}
	})
}
