package readmetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/devserver"
)

// section returns the text of the README's "## title" section.
func section(t *testing.T, readme, title string) string {
	t.Helper()
	start := strings.Index(readme, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README has no %q section", "## "+title)
	}
	rest := readme[start+len(title)+5:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// layoutEntry is a path the Layout map names, with the text of its line.
type layoutEntry struct {
	path, text string
}

var layoutLine = regexp.MustCompile(`^( *)(\.?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?)\s*(.*)$`)

// layoutEntries reads the Layout code block: a line starting in column 0
// names a path from the root, an indented one a path under the last
// unindented directory; continuation lines (deeply indented prose) belong
// to the entry above.
func layoutEntries(t *testing.T, layout string) []layoutEntry {
	t.Helper()
	open := strings.Index(layout, "```\n")
	close := strings.LastIndex(layout, "\n```")
	if open < 0 || close <= open {
		t.Fatal("the Layout section has no code block")
	}
	var out []layoutEntry
	parent := ""
	for _, line := range strings.Split(layout[open+4:close], "\n") {
		m := layoutLine.FindStringSubmatch(line)
		if m == nil || len(m[1]) > 4 {
			if len(out) > 0 {
				out[len(out)-1].text += " " + strings.TrimSpace(line)
			}
			continue
		}
		p := m[2]
		if m[1] != "" {
			p = parent + p
		} else if strings.HasSuffix(p, "/") {
			parent = p
		}
		out = append(out, layoutEntry{path: strings.TrimSuffix(p, "/"), text: m[3]})
	}
	return out
}

// TestLayoutMatchesTree holds the README's layout map to the tree (the
// brief: "a layout map that matches the tree"): every path it names
// exists, every top-level entry of the repository and every Go package is
// in it, either on its own line or named ("gen/") on the line of a
// directory above it.
func TestLayoutMatchesTree(t *testing.T) {
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	entries := layoutEntries(t, section(t, readREADME(t), "Layout"))
	listed := map[string]string{}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, e.path)); err != nil {
			t.Errorf("the layout map names %s, which is not in the tree", e.path)
		}
		listed[e.path] = e.text
	}
	covered := func(dir string) bool {
		if _, ok := listed[dir]; ok {
			return true
		}
		for p := filepath.Dir(dir); p != "."; p = filepath.Dir(p) {
			if text, ok := listed[p]; ok {
				rel, _ := filepath.Rel(p, dir)
				return strings.Contains(text, rel+"/") || strings.Contains(text, filepath.Base(dir)+"/")
			}
		}
		return false
	}
	top, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		name := e.Name()
		if !e.IsDir() || name == ".git" || name == ".cache" || name == "bin" || name == "data" {
			continue
		}
		inMap := false
		for p := range listed {
			inMap = inMap || p == name || strings.HasPrefix(p, name+"/")
		}
		if !inMap {
			t.Errorf("the top-level directory %s/ is missing from the layout map", name)
		}
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" || d.Name() == "node_modules" || rel == "bin" || rel == "data" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			if dir := filepath.Dir(rel); dir != "." && !covered(dir) {
				t.Errorf("the Go package %s/ is missing from the layout map (give it a line, or name it on its parent's line)", dir)
				listed[dir] = "reported"
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryDependencyHasAReason holds go.mod's direct requirements to the
// README's Dependencies table (the brief: "Every dependency has a reason
// in the README"): each module, or the module family it belongs to, is
// named there.
func TestEveryDependencyHasAReason(t *testing.T) {
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	deps := section(t, readREADME(t), "Dependencies")
	for _, p := range directRequires(string(data)) {
		named := strings.Contains(deps, "`"+p+"`") || strings.Contains(deps, "`"+p+" ")
		// A family row names its root and the members: `go.opentelemetry.io/otel` (`sdk`, ...).
		for q := filepath.Dir(p); !named && strings.Contains(q, "/"); q = filepath.Dir(q) {
			named = strings.Contains(deps, "`"+q+"`") && strings.Contains(deps, "`"+strings.TrimPrefix(p, q+"/")+"`")
		}
		if !named {
			t.Errorf("go.mod requires %s, which the README's Dependencies section gives no reason for", p)
		}
	}
	if strings.Count(readREADME(t), "\n## Dependencies\n") != 1 {
		t.Error("the README has more than one Dependencies heading")
	}
}

// directRequires lists the modules of go.mod's require directives that
// are not marked indirect (both the block and the one-line form).
func directRequires(gomod string) []string {
	var out []string
	inBlock := false
	for _, line := range strings.Split(gomod, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 && !strings.Contains(line, "// indirect") {
			out = append(out, f[0])
		}
	}
	return out
}
