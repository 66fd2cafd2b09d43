package cli

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// serve configures the author of Patient/$summary documents from its flags
// (here their environment variables), and refuses an unusable one.
func TestServeSummaryOrganization(t *testing.T) {
	t.Setenv("MEKONG_ADDR", "127.0.0.1:0")
	t.Setenv("MEKONG_DB", "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	t.Setenv("MEKONG_AUTH", "none")
	t.Setenv("MEKONG_ORGANIZATION_NAME", "Poipet referral clinic")
	t.Setenv("MEKONG_ORGANIZATION_IDENTIFIER", "https://terms.sil-th.org/id/th-moph-hcode|10670")
	ctx, stop := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- root(io.Discard, logs).Run(ctx, []string{"mekong", "serve"}) }()
	base := serveURL(t, logs)
	req, _ := http.NewRequest("PUT", base+"/Patient/p1", strings.NewReader(`{"resourceType":"Patient","id":"p1","name":[{"family":"Sok"}],"birthDate":"1990"}`))
	req.Header.Set("Content-Type", "application/fhir+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = http.Get(base + "/Patient/p1/$summary")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	stop()
	<-done
	for _, want := range []string{`"name":"Poipet referral clinic"`, `"system":"https://terms.sil-th.org/id/th-moph-hcode","value":"10670"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("$summary (%d) lacks %s: %.300s", res.StatusCode, want, body)
		}
	}

	for _, bad := range [][2]string{{"MEKONG_ORGANIZATION_IDENTIFIER", "10670"}, {"MEKONG_ORGANIZATION_NAME", " "}, {"MEKONG_SUMMARY_MAX_ENTRIES", "0"}} {
		t.Run(bad[0], func(t *testing.T) {
			t.Setenv(bad[0], bad[1])
			err := root(io.Discard, io.Discard).Run(context.Background(), []string{"mekong", "serve"})
			if err == nil || !strings.Contains(err.Error(), "--"+strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(bad[0], "MEKONG_")), "_", "-")) {
				t.Errorf("%s=%q: %v", bad[0], bad[1], err)
			}
		})
	}
}
