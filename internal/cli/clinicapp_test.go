package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The auth configuration's clinic_app.break_glass_duration reaches the
// gateway: serve --auth-config … --dev offers clinic staff emergency
// access for that long (issue 13: "time-limited access (configurable,
// default 60 minutes)"); without it, 60 minutes.
func TestServeClinicAppBreakGlassDuration(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{`,"clinic_app":{"break_glass_duration":"15m","idle_timeout":"10m"}`, "for 15 minutes"},
		{``, "for 60 minutes"},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "auth.json")
		os.WriteFile(cfg, []byte(`{"issuers":[{"issuer":"https://idp.test","audience":["mekong"],"algorithms":["HS256"],
			"hmac_secret":"a-test-secret-of-at-least-thirty-two-bytes"}]`+c.config+`}`), 0o600)
		t.Setenv("MEKONG_ADDR", "127.0.0.1:0")
		t.Setenv("MEKONG_DB", "sqlite:"+filepath.Join(dir, "m.db"))
		ctx, stop := context.WithCancel(context.Background())
		logs, stdout := &lockedBuffer{}, &lockedBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- root(stdout, logs).Run(ctx, []string{"mekong", "serve", "--dev", "--data-dir", dir, "--auth-config", cfg})
		}()
		base := serveURL(t, logs)
		page := clinicRecordPage(t, base, devToken(t, stdout.String()))
		stop()
		<-done
		if !strings.Contains(page, c.want) {
			t.Errorf("config %q: the break-the-glass offer does not say %q:\n%s", c.config, c.want, page)
		}
	}
}

// clinicRecordPage creates a Patient through the API and returns its
// record page as the development sign-in's clinic staff see it.
func clinicRecordPage(t *testing.T, base, token string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/Patient", strings.NewReader(`{"resourceType":"Patient","name":[{"family":"KEO"}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/fhir+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := regexp.MustCompile(`/Patient/([^/]+)/`).FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != 201 || id == nil {
		t.Fatalf("create: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	app := strings.TrimSuffix(base, "/fhir") + "/app"
	get := func(res *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	signin := get(c.Get(app + "/signin"))
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(signin)
	if csrf == nil {
		t.Fatalf("no CSRF token on the sign-in page: %s", signin)
	}
	get(c.PostForm(app+"/signin/dev", url.Values{"role": {"clinic"}, "csrf": {csrf[1]}}))
	return get(c.Get(app + "/patient/" + id[1]))
}
