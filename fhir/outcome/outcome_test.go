package outcome

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// https://hl7.org/fhir/R4/operationoutcome.html: issue.severity and issue.code are required.
func TestJSONRendersOperationOutcome(t *testing.T) {
	e := Invalid("bad date %q", "2020-13").At("Patient.birthDate")
	var got map[string]any
	if err := json.Unmarshal(JSON(e.Issues), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{
			"severity": "error", "code": "invalid",
			"diagnostics": `bad date "2020-13"`, "expression": []any{"Patient.birthDate"},
		}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if e.Status != http.StatusBadRequest {
		t.Errorf("status %d", e.Status)
	}
}

func TestEmptyIssuesRenderInformational(t *testing.T) {
	var got struct{ Issue []Issue }
	if err := json.Unmarshal(JSON(nil), &got); err != nil || len(got.Issue) != 1 || got.Issue[0].Severity != Information {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestAsFindsWrappedError(t *testing.T) {
	err := fmt.Errorf("store.Read: %w", Gone("deleted"))
	e, ok := As(err)
	if !ok || e.Status != http.StatusGone {
		t.Fatalf("As = %v, %v", e, ok)
	}
	if _, ok := As(errors.New("x")); ok {
		t.Fatal("plain error taken for outcome")
	}
}
