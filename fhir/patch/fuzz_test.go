package patch

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// FuzzJSONPatch: JSON Patch documents come from clients
// (https://www.rfc-editor.org/rfc/rfc6902), so JSONPatch must refuse bad
// ones with an OperationOutcome and never panic; what it accepts must give
// valid JSON, and the same patch must give the same bytes again. The seed
// corpus is in testdata/fuzz/FuzzJSONPatch.
func FuzzJSONPatch(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"p","name":[{"family":"Sok","given":["Dara"]}]}`),
		[]byte(`[{"op":"add","path":"/name/0/given/-","value":"Vanna"},{"op":"test","path":"/id","value":"p"}]`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		if !json.Valid(doc) {
			return // the resource is always stored JSON
		}
		got, err := JSONPatch(doc, patch)
		if err != nil {
			if _, ok := outcome.As(err); !ok {
				if _, err2 := newTree().decode(doc); err2 == nil {
					t.Fatalf("JSONPatch(%q, %q) = %v, want an outcome", doc, patch, err)
				}
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("JSONPatch(%q, %q) = %q, not JSON", doc, patch, got)
		}
		again, err := JSONPatch(doc, patch)
		if err != nil || !bytes.Equal(got, again) {
			t.Fatalf("JSONPatch(%q, %q) is not deterministic: %q then %q, %v", doc, patch, got, again, err)
		}
	})
}
