package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Issue 11, "Blocking": candidates come from indexed keys stored with the
// Patient, so $match "never scans all Patients". The plan of the key lookup
// reads search_token through an index on both databases
// (https://www.sqlite.org/eqp.html: "SCAN" is a full pass, "SEARCH ... USING
// INDEX" a range; https://www.postgresql.org/docs/15/using-explain.html).
func TestMatchKeyLookupUsesAnIndex(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			plan, err := db.ExplainMatchKeys(context.Background(), []string{"2n:kio|vanak", "2y:vanak:1994", "2d:152:1994-03-12"})
			if err != nil {
				t.Fatal(err)
			}
			full := strings.Contains(plan, "SCAN t\n") || strings.Contains(plan, "SCAN search_token") || strings.Contains(plan, "Seq Scan on search_token")
			indexed := strings.Contains(plan, "USING INDEX search_token_lookup") || strings.Contains(plan, "USING COVERING INDEX search_token_lookup") ||
				strings.Contains(plan, "Index Only Scan using search_token_lookup") || strings.Contains(plan, "Index Scan using search_token_lookup")
			if full || !indexed {
				t.Errorf("the blocking-key lookup does not read search_token_lookup:\n%s", plan)
			}
		})
	}
}
