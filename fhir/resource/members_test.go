package resource

import (
	"testing"
	"time"
)

// SetMember replaces, appends and removes top-level members; Stored reads a
// stored resource back without validation and encodes it unchanged.
func TestSetMemberAndStored(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := `{"resourceType":"Patient","id":"a","meta":{"versionId":"3","lastUpdated":"2025-01-01T00:00:00Z","source":"urn:x"},"gender":"male","birthDate":"1990"}`
	r, err := Stored([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "Patient" || r.ID != "a" {
		t.Fatalf("Stored: %+v", r)
	}
	r.SetMember("link", []byte(`[{"other":{"reference":"Patient/b"},"type":"seealso"}]`))
	r.SetMember("gender", []byte(`"female"`))
	got := string(r.Encode("a", 4, at))
	want := `{"resourceType":"Patient","id":"a","meta":{"versionId":"4","lastUpdated":"2026-01-02T03:04:05.000000Z","source":"urn:x"},` +
		`"gender":"female","birthDate":"1990","link":[{"other":{"reference":"Patient/b"},"type":"seealso"}]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	r.SetMember("link", nil)
	r.SetMember("nothing", nil)
	if got := string(r.Encode("a", 5, at)); got != `{"resourceType":"Patient","id":"a","meta":{"versionId":"5","lastUpdated":"2026-01-02T03:04:05.000000Z","source":"urn:x"},"gender":"female","birthDate":"1990"}` {
		t.Fatalf("after removing link: %s", got)
	}
	for _, bad := range []string{`{"resourceType":1}`, `{"resourceType":"Patient","meta":[]}`, `not json`} {
		if _, err := Stored([]byte(bad)); err == nil {
			t.Errorf("Stored(%s) succeeded", bad)
		}
	}
}
