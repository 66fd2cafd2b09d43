package cli

import (
	"os"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v3"
)

// TestServeFlagsAreInTheREADME: the README's configuration table lists
// every serve flag with its environment variable (issue 14 item 7: "document
// the rule and its switch"; the brief: configuration in the README), so a
// new switch cannot ship undocumented.
func TestServeFlagsAreInTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var serve *ucli.Command
	for _, c := range root(nil, nil).Commands {
		if c.Name == "serve" {
			serve = c
		}
	}
	n := 0
	for _, fl := range serve.Flags {
		name := fl.Names()[0]
		if v, ok := fl.(ucli.VisibleFlag); name == "help" || strings.HasPrefix(name, "bench-") || ok && !v.IsVisible() {
			continue // benchmark and hidden switches are documented where the benchmarks are
		}
		n++
		row := "| `--" + name + "`"
		i := strings.Index(string(readme), row)
		if i < 0 {
			t.Errorf("README.md's configuration table has no row for serve --%s", name)
			continue
		}
		line, _, _ := strings.Cut(string(readme[i:]), "\n")
		if env := envOf(fl); env != "" && !strings.Contains(line, "`"+env+"`") {
			t.Errorf("README.md's row for --%s does not name %s: %s", name, env, line)
		}
	}
	if n < 20 {
		t.Fatalf("only %d serve flags seen", n)
	}
}

// envOf is the flag's environment variable, if it has one.
func envOf(fl ucli.Flag) string {
	type sourced interface{ GetEnvVars() []string }
	if s, ok := fl.(sourced); ok && len(s.GetEnvVars()) > 0 {
		return s.GetEnvVars()[0]
	}
	return ""
}
