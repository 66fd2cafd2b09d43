package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/app"
)

// An IOM assessment whose chest X-ray is abnormal but not suggestive of TB
// (a value with no SNOMED CT equivalent) and whose panel physician
// classified the person B1: both are TB screening, so clinic staff see no
// trace of them on the page or through the API, and a clinician reads them
// in words, marked confidential.
func TestIOMTBScreeningIsConfidential(t *testing.T) {
	e := newEnv(t, envOpts{})
	row := `[{"case_number":"KHM-MHA-2024-0777","passport_number":"N07777777","passport_country":"KHM","family_name":"MEAS",
	  "given_name":"SOPHEAP","sex":"F","birth_date":"1990-02-03","nationality":"KHM","assessment_date":"2024-08-01",
	  "assessment_site":"IOM Migration Health Assessment Centre, Phnom Penh","cxr_date":"2024-08-01","cxr_result":"abnormal-not-tb",
	  "tb_class":"B1","covid_test":"antigen","covid_date":"2024-08-01","covid_result":"not-detected"}]`
	f := filepath.Join(t.TempDir(), "iom.json")
	os.WriteFile(f, []byte(row), 0o644)
	e.load("iom-json", f)
	id := e.patientID("identifier=N07777777")
	if id == "" {
		t.Fatal("the IOM row was not loaded")
	}
	c := e.browser()
	c.signIn("clinic")
	_, page := c.get("/app/patient/" + id)
	wantIn(t, page, "COVID-19 rapid antigen")
	results := page[strings.Index(page, `id="results"`):strings.Index(page, `aria-labelledby="btg-title"`)]
	wantNotIn(t, results+page[strings.Index(page, `id="timeline"`):], "TB", "X-ray", "B1", "abnormal", "Confidential")
	if _, body := e.api(e.token("dev-clinic", app.DevRoles[0].Scopes), "/Observation?subject=Patient/"+id); strings.Contains(body, "30745-4") || strings.Contains(body, "tb-class") {
		t.Fatalf("REST as clinic staff returns TB screening: %s", body)
	}
	d := e.browser()
	d.signIn("clinician")
	_, page = d.get("/app/patient/" + id)
	wantIn(t, page, "TB: chest X-ray Confidential Abnormal, not suggestive of TB", "TB classification Confidential Class B1")
}
