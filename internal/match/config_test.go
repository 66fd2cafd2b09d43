package match

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
}

// TestLoadConfig: a deployment's configuration is refused with a message
// naming the field when a key is unknown or a value is out of range.
func TestLoadConfig(t *testing.T) {
	base, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(base, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	if _, err := LoadConfig(strings.NewReader(string(base))); err != nil {
		t.Fatalf("the default, re-encoded: %v", err)
	}
	for _, c := range []struct {
		name, json, want string
	}{
		{"unknown top-level key", edit(func(m map[string]any) { m["thresholdz"] = 1 }), "unknown field"},
		{"unknown nested key", edit(func(m map[string]any) { m["thresholds"].(map[string]any)["sure"] = 0.9 }), "unknown field"},
		{"unknown level", edit(func(m map[string]any) { m["gender"].(map[string]any)["maybe"] = map[string]any{"m": 0.5, "u": 0.5} }), "gender.maybe: unknown level"},
		{"missing level", edit(func(m map[string]any) { delete(m["birthDate"].(map[string]any), "transposed") }), "birthDate.transposed: missing"},
		{"thresholds out of order", edit(func(m map[string]any) { m["thresholds"].(map[string]any)["probable"] = 0.9999 }), "thresholds"},
		{"m of zero", edit(func(m map[string]any) {
			m["names"].(map[string]any)["given"].(map[string]any)["exact"] = map[string]any{"m": 0, "u": 0.1}
		}), "names.given.exact"},
		{"prior of one", edit(func(m map[string]any) { m["prior"] = 1 }), "prior"},
		{"identifier kind", edit(func(m map[string]any) { m["identifiers"].([]any)[0].(map[string]any)["kind"] = "tribal" }), "identifiers[0].kind"},
		{"placeholder", edit(func(m map[string]any) { m["birthDatePlaceholders"].(map[string]any)["unknownDay"] = []string{"32"} }), "unknownDay"},
		{"certain level", edit(func(m map[string]any) { m["certain"].(map[string]any)["givenName"] = []string{"close"} }), "certain.givenName"},
		{"blocking bounds", edit(func(m map[string]any) { m["blocking"].(map[string]any)["maxKeys"] = 0 }), "blocking"},
		{"two documents", string(base) + string(base), "more than one"},
		{"not JSON", "{", "match.LoadConfig"},
	} {
		_, err := LoadConfig(strings.NewReader(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	c := DefaultConfig()
	c.Thresholds.Certain = 0.5
	if _, err := New(c); err == nil {
		t.Fatal("New accepted certain < probable")
	}
}
