package match

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoHTTPOrSQL: issue 11 wants the matcher in "its own package, no HTTP
// or SQL in it" (and the brief: domain engines free of HTTP and SQL). The
// matcher and its romanizers import neither, nor any Mekong package but
// each other, so the engine can be tuned and tested alone.
func TestNoHTTPOrSQL(t *testing.T) {
	for _, dir := range []string{".", "romanize"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				bad := strings.HasPrefix(p, "net/http") || strings.HasPrefix(p, "database/sql") || strings.Contains(p, "pgx") ||
					strings.Contains(p, "sqlite") || strings.Contains(p, "labstack/echo") ||
					(strings.HasPrefix(p, "github.com/mekong-fhir/mekong/") && p != "github.com/mekong-fhir/mekong/internal/match/romanize")
				if bad {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
