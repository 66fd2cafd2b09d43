package app_test

import (
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	page := b.search("N01234567", "")
	_, rec := b.get("/app/patient/" + e.dara)
	os.WriteFile("/tmp/search.html", []byte(page), 0o644)
	os.WriteFile("/tmp/rec.html", []byte(rec), 0o644)
	t.Log(e.dara)
}
