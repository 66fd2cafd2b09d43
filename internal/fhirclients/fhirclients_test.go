// Package fhirclients runs a clinic session with three public FHIR client
// libraries, unchanged, against the server `make run` starts: what an
// integrator meets in the first hour (issue 14, "Done when").
//
//   - fhir-kit-client 2.0.3 (https://github.com/Vermonster/fhir-kit-client)
//   - fhirclient 2.6.3, SMART's JavaScript client, in Node (https://github.com/smart-on-fhir/client-js)
//   - fhir.js 0.0.22 (https://github.com/FHIR/fhir.js)
//
// testdata/install.sh installs them with npm ci from testdata/package-lock.json
// into the git-ignored .cache/fhir-clients; testdata/session.mjs is the
// session, one JSON line per step.
package fhirclients

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/devserver"
)

// knownIssues are steps that fail only because of a defect being fixed in
// another stream. A listed step that passes fails the test, so the list
// shrinks as the fixes land.
var knownIssues = map[string]string{}

// wantSteps are the steps each library must report: a session that stops
// early (a crash, a changed library) is a failure, not a smaller pass.
var wantSteps = map[string][]string{
	"fhir-kit-client": {"capabilities", "create", "search", "read", "update", "vread", "history", "create-immunization",
		"patch", "everything", "create-second", "paging", "transaction", "batch"},
	"fhirclient": {"capabilities", "create", "search", "read", "update", "create-immunization", "search-include",
		"create-second", "paging", "transaction", "delete"},
	"fhir.js": {"capabilities", "create", "search", "read", "update", "vread", "history", "transaction", "delete"},
}

type step struct {
	Lib, Step, Detail string
	OK                bool
}

func TestClinicSessionWithFHIRClientLibraries(t *testing.T) {
	dir := install(t)
	srv := devserver.Start(t)

	// The session runs from the install directory so that node resolves
	// the libraries there.
	script, err := os.ReadFile(filepath.Join("testdata", "session.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "session-"+filepath.Base(t.TempDir())+".mjs")
	if err := os.WriteFile(run, script, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(run)
	var stderr bytes.Buffer
	cmd := exec.Command("node", run, srv.Base, srv.Token)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node session.mjs: %v\n%s\n%s", err, out, stderr.String())
	}

	got := map[string]step{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var s step
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("session output %q: %v", sc.Text(), err)
		}
		got[s.Lib+"/"+s.Step] = s
	}
	for _, lib := range []string{"fhir-kit-client", "fhirclient", "fhir.js"} {
		for _, name := range wantSteps[lib] {
			key := lib + "/" + name
			s, ok := got[key]
			known, isKnown := knownIssues[key]
			switch {
			case !ok:
				t.Errorf("%s: the session did not report this step", key)
			case s.OK && isKnown:
				t.Errorf("%s now passes: remove it from knownIssues (%s)", key, known)
			case s.OK:
				t.Logf("%s: ok (%s)", key, s.Detail)
			case isKnown:
				t.Logf("%s: fails, known: %s", key, known)
			default:
				t.Errorf("%s: %s", key, s.Detail)
			}
			delete(got, key)
		}
	}
	for key := range got {
		t.Errorf("%s: a step the test does not expect; add it to wantSteps", key)
	}
}

// install runs testdata/install.sh (npm ci into .cache/fhir-clients) and
// returns the directory. Without npm or node the test is skipped, except
// under CI, where it fails.
func install(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required under CI: %v", tool, err)
			}
			t.Skipf("SKIPPING the FHIR client libraries: %s not found", tool)
		}
	}
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", filepath.Join("testdata", "install.sh")).CombinedOutput()
	if err != nil {
		t.Fatalf("testdata/install.sh: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Log(s)
	}
	return filepath.Join(root, ".cache", "fhir-clients")
}
