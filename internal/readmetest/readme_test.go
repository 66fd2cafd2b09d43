// Package readmetest runs README.md's walkthrough, so the README cannot
// drift from the product.
//
// The convention (also in the README's "Tests" section):
//
//   - Every ```sh block runs, in README order, in one bash session
//     (variables carry over from block to block, as in a terminal where
//     they are pasted), against a server started as `make run` starts it
//     (internal/devserver: --dev, its own ./data, MEKONG_ADDR set to its
//     address). The working directory holds ./bin/mekong and links to the
//     repository's files (examples/, mappings/, docs/); what commands
//     write stays there.
//   - Each statement (a command with its continuation lines) must exit 0,
//     and every HTTP response curl gets must be 2xx or 3xx.
//   - A trailing comment on a statement's last line changes what is
//     expected: `# expect 412` (the last response's status; several codes
//     mean any of them), `# expect exit=1` (the exit status), `# expect
//     total=2` (stdout is a Bundle with that total). They combine:
//     `# expect 200 total=1`.
//   - ```console, ```text, ```json, ```csv blocks are not run. ```bash and
//     ```shell are refused, so nobody writes one believing it is tested.
package readmetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mvdan.cc/sh/v3/syntax"

	"github.com/mekong-fhir/mekong/internal/devserver"
)

// statement is one command of a ```sh block.
type statement struct {
	line   int    // README.md line of its first line
	text   string // the command, continuation lines included, without its trailing comment
	expect expectation
}

type expectation struct {
	codes []int // the last HTTP response's status is one of these; none: every response 2xx/3xx
	exit  int
	total int // -1: not checked
}

var fence = regexp.MustCompile("^```\\s*([A-Za-z0-9_-]*)")

// shellBlocks returns the statements of README.md's ```sh blocks in order.
func shellBlocks(readme string) ([]statement, error) {
	lines := strings.Split(readme, "\n")
	var out []statement
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		lang, start := m[1], i+1
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
		}
		switch lang {
		case "sh":
		case "bash", "shell", "zsh":
			return nil, fmt.Errorf("README.md:%d: a ```%s block: use ```sh (run by this test) or ```console (not run)", start, lang)
		default:
			continue
		}
		src := strings.Join(lines[start:i], "\n") + "\n"
		stmts, err := parseBlock(src, start)
		if err != nil {
			return nil, err
		}
		out = append(out, stmts...)
	}
	return out, nil
}

var expectRE = regexp.MustCompile(`^\s*expect\s+(.+)$`)

func parseBlock(src string, firstLine int) ([]statement, error) {
	f, err := syntax.NewParser(syntax.KeepComments(true), syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, fmt.Errorf("README.md:%d: ```sh block: %v", firstLine, err)
	}
	var out []statement
	for _, s := range f.Stmts {
		st := statement{line: firstLine + int(s.Pos().Line()), text: src[s.Pos().Offset():s.End().Offset()],
			expect: expectation{total: -1}}
		for _, r := range s.Redirs {
			if r.Hdoc != nil {
				return nil, fmt.Errorf("README.md:%d: here-documents are not supported by the README test", st.line)
			}
		}
		for _, c := range s.Comments {
			if c.Pos().Line() != s.End().Line() || c.Pos().Offset() < s.End().Offset() {
				continue
			}
			m := expectRE.FindStringSubmatch(c.Text)
			if m == nil {
				continue
			}
			if err := st.expect.parse(m[1]); err != nil {
				return nil, fmt.Errorf("README.md:%d: # expect %s: %v", st.line, m[1], err)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (e *expectation) parse(s string) error {
	for _, f := range strings.Fields(s) {
		key, val, isKV := strings.Cut(f, "=")
		n, err := strconv.Atoi(val)
		switch {
		case !isKV && len(f) == 3:
			if n, err = strconv.Atoi(f); err != nil || n < 100 || n > 599 {
				return fmt.Errorf("%q is not an HTTP status", f)
			}
			e.codes = append(e.codes, n)
		case isKV && key == "exit" && err == nil:
			e.exit = n
		case isKV && key == "total" && err == nil:
			e.total = n
		default:
			return fmt.Errorf("%q: want an HTTP status (412), exit=N or total=N", f)
		}
	}
	return nil
}

func (e expectation) String() string {
	var parts []string
	for _, c := range e.codes {
		parts = append(parts, strconv.Itoa(c))
	}
	if len(parts) == 0 {
		parts = append(parts, "2xx/3xx")
	}
	if e.exit != 0 {
		parts = append(parts, fmt.Sprintf("exit=%d", e.exit))
	}
	if e.total >= 0 {
		parts = append(parts, fmt.Sprintf("total=%d", e.total))
	}
	return strings.Join(parts, " ")
}

// TestREADMEOpensWithMakeRunAndMakeTest keeps the brief's promise: the
// README's first commands are the two that set everything up.
func TestREADMEOpensWithMakeRunAndMakeTest(t *testing.T) {
	readme := readREADME(t)
	m := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no code block")
	}
	var cmds []string
	for _, l := range strings.Split(m[1], "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, "$ "))
		if l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, strings.Join(strings.Fields(strings.SplitN(l, "#", 2)[0]), " "))
		}
	}
	if len(cmds) < 2 || cmds[0] != "make run" || cmds[1] != "make test" {
		t.Errorf("README.md's first code block runs %q; want make run, then make test", cmds)
	}
}

func TestParseBlock(t *testing.T) {
	src := "# a comment\nB=x\ncurl -s -X PUT $B -d '{\n  \"a\": 1}'   # expect 412\ncurl -s $B \\\n  -H x # expect 200 total=1\nmekong import f # expect exit=1\n"
	got, err := parseBlock(src, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line   int
		first  string
		expect string
	}{{12, "B=x", "2xx/3xx"}, {13, "curl -s -X PUT $B -d '{", "412"}, {15, "curl -s $B \\", "200 total=1"}, {17, "mekong import f", "2xx/3xx exit=1"}}
	if len(got) != len(want) {
		t.Fatalf("got %d statements, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.line != w.line || strings.Split(g.text, "\n")[0] != w.first || g.expect.String() != w.expect {
			t.Errorf("statement %d = line %d %q expect %s; want line %d %q expect %s", i, g.line, strings.Split(g.text, "\n")[0], g.expect, w.line, w.first, w.expect)
		}
	}
	if _, err := parseBlock("curl x # expect 41\n", 1); err == nil {
		t.Error("# expect 41 was accepted")
	}
	if _, err := shellBlocks("```bash\nls\n```\n"); err == nil {
		t.Error("a ```bash block was accepted")
	}
}

// TestREADME runs the README's ```sh blocks against a `make run` server.
func TestREADME(t *testing.T) {
	stmts, err := shellBlocks(readREADME(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) < 20 {
		t.Fatalf("only %d shell statements found in README.md", len(stmts))
	}
	for _, tool := range []string{"curl", "jq", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples need %s (.ci/run installs it): %v", tool, err)
		}
	}
	srv := devserver.Start(t)
	banner := len(srv.Logs()) // --dev prints a development token at startup, on purpose
	sh := startShell(t, srv)
	start := time.Now()
	for _, st := range stmts {
		res := sh.run(t, st)
		first := strings.Split(st.text, "\n")[0]
		t.Logf("README.md:%d %s -> exit %d, HTTP %v (%s)", st.line, first, res.exit, res.codes, res.took.Round(time.Millisecond))
		if msg := check(st.expect, res); msg != "" {
			t.Fatalf("README.md:%d: %s\n$ %s\n--- stdout ---\n%s\n--- stderr ---\n%s", st.line, msg, st.text,
				clip(res.stdout), clip(res.stderr))
		}
	}
	t.Logf("%d statements in %s", len(stmts), time.Since(start).Round(time.Millisecond))
	checkPromisedMetrics(t, srv, readREADME(t))

	// The brief: never log resource bodies, names, identifiers or tokens.
	// The walkthrough sends all of them, through every kind of route; what
	// the server logged after its banner holds none of them.
	time.Sleep(200 * time.Millisecond) // background work (the linker) logs after responses
	logs := srv.Logs()[banner:]
	for _, v := range personalValues(readREADME(t)) {
		if i := strings.Index(logs, v); i >= 0 {
			t.Errorf("the server logged %q, from the README's data: ...%s...", v, logs[max(0, i-200):min(len(logs), i+len(v)+50)])
		}
	}
	if i := strings.Index(logs, "eyJ"); i >= 0 {
		t.Errorf("the server logged what looks like a JWT: ...%s...", logs[max(0, i-200):i+3])
	}
}

var (
	personalMember = regexp.MustCompile(`"(?:family|given|text)":\[?"([^"]+)"`)
	identifierLike = regexp.MustCompile(`"value":"([A-Z]{1,3}[0-9]{4,}|[0-9]{9,})"`)
	nativeScript   = regexp.MustCompile(`[\p{Khmer}\p{Thai}]`)
)

// personalValues are the names (Latin and native script) and the
// identifier values the README's examples send.
func personalValues(readme string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if !seen[v] && len(v) >= 4 {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, m := range personalMember.FindAllStringSubmatch(readme, -1) {
		v := m[1]
		// "text" is a name only in native script; elsewhere it is a code's text.
		if strings.HasPrefix(m[0], `"text"`) && !nativeScript.MatchString(v) {
			continue
		}
		add(v)
	}
	for _, m := range identifierLike.FindAllStringSubmatch(readme, -1) {
		add(m[1])
	}
	return out
}

// metricName is a metric family in the first column of the README's
// metrics table (a `go_*` wildcard is left out, `go_sql_*` kept as a prefix).
var metricName = regexp.MustCompile("`((?:mekong|go_sql)_[a-z_]*)\\*?`")

// promisedMetrics lists the metric families of the README's metrics table.
func promisedMetrics(t *testing.T, readme string) []string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Metrics\n")
	if !ok {
		t.Fatal("README.md has no ## Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var promised []string
	for _, line := range strings.Split(section, "\n") {
		if first, _, ok := strings.Cut(strings.TrimPrefix(line, "|"), "|"); ok && strings.HasPrefix(line, "| `") {
			for _, m := range metricName.FindAllStringSubmatch(first, -1) {
				promised = append(promised, m[1])
			}
		}
	}
	if len(promised) < 8 {
		t.Fatalf("only %d metric families found in README.md's metrics table: %v", len(promised), promised)
	}
	return promised
}

// TestPromisedMetricsAreRead keeps checkPromisedMetrics honest: it reads
// every family of the table, the database pools as a prefix.
func TestPromisedMetricsAreRead(t *testing.T) {
	got := strings.Join(promisedMetrics(t, readREADME(t)), " ")
	for _, want := range []string{"mekong_http_requests_total", "mekong_http_request_duration_seconds", "go_sql_",
		"mekong_audit_commits_total", "mekong_audit_wait_seconds", "mekong_bulk_jobs_total", "mekong_ingest_rows_rejected_total", "mekong_match_duration_seconds"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("the metrics table's families %q lack %s", got, want)
		}
	}
}

// checkPromisedMetrics: every metric family the README's "## Metrics" table
// lists is exported by the server the walkthrough ran against (its reads,
// bulk jobs, $ingest and $match have happened by then). A family that is
// documented and implemented but never registered or never fed (the audit
// writer's, once) fails here, not in production.
func checkPromisedMetrics(t *testing.T, srv *devserver.Server, readme string) {
	t.Helper()
	promised := promisedMetrics(t, readme)
	req, _ := http.NewRequest("GET", "http://"+srv.Addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %.300s", res.StatusCode, body)
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exported[name] = true
		}
	}
	for _, m := range promised {
		found := false
		for name := range exported {
			found = found || name == m || strings.HasPrefix(name, m) && (strings.HasSuffix(m, "_") || strings.TrimPrefix(name, m) == "_count")
		}
		if !found {
			t.Errorf("README.md's metrics table lists %s, but /metrics after the walkthrough has no such series", m)
		}
	}
}

func check(e expectation, r result) string {
	if r.timedOut {
		return "did not finish within " + stmtTimeout.String()
	}
	if r.exit != e.exit {
		return fmt.Sprintf("exit status %d, want %d", r.exit, e.exit)
	}
	if len(e.codes) > 0 {
		if len(r.codes) == 0 {
			return fmt.Sprintf("made no HTTP request, want %v", e.codes)
		}
		last := r.codes[len(r.codes)-1]
		ok := false
		for _, c := range e.codes {
			ok = ok || c == last
		}
		if !ok {
			return fmt.Sprintf("HTTP %d, want %v", last, e.codes)
		}
	} else {
		for _, c := range r.codes {
			if c < 200 || c >= 400 {
				return fmt.Sprintf("HTTP %d (responses %v), want 2xx or 3xx (or say # expect %d)", c, r.codes, c)
			}
		}
	}
	if e.total >= 0 {
		var b struct {
			ResourceType string `json:"resourceType"`
			Total        *int   `json:"total"`
		}
		if err := json.Unmarshal(r.stdout, &b); err != nil || b.ResourceType != "Bundle" || b.Total == nil {
			return fmt.Sprintf("stdout is not a Bundle with a total (want total=%d)", e.total)
		}
		if *b.Total != e.total {
			return fmt.Sprintf("Bundle total %d, want %d", *b.Total, e.total)
		}
	}
	return ""
}

// stmtTimeout bounds one statement; the whole walkthrough takes seconds.
const stmtTimeout = 60 * time.Second

type result struct {
	exit           int
	codes          []int
	stdout, stderr []byte
	took           time.Duration
	timedOut       bool
}

// shell is one bash process the statements are fed to, like a terminal.
type shell struct {
	cmd    *exec.Cmd
	stdin  *os.File
	status chan string
	dir    string // out, err and the curl shim's codes file
}

// curlShim records the status of every response curl gets, without
// changing what curl prints: its -w output (the README's own, then ours)
// goes to stderr from %{stderr} on, and the shim moves our part to a file.
const curlShim = `#!/usr/bin/env bash
args=() w=
while (($#)); do
  case $1 in
    -w|--write-out) w=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
err=$(mktemp)
"$MEKONG_README_CURL" "${args[@]}" -w "$w%{stderr}@mekong-http-code %{http_code}@" 2>"$err"
rc=$?
grep -o '@mekong-http-code [0-9]*@' "$err" | tr -dc '0-9\n ' | awk '{print $1}' >>"$MEKONG_README_CODES"
sed 's/@mekong-http-code [0-9]*@//g' "$err" >&2
rm -f "$err"
exit $rc
`

func startShell(t *testing.T, srv *devserver.Server) *shell {
	realCurl, _ := exec.LookPath("curl")
	dir := t.TempDir()
	shims := filepath.Join(dir, "shims")
	if err := os.Mkdir(shims, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shims, "curl"), []byte(curlShim), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Dir = srv.Dir
	env := []string{}
	for _, kv := range srv.Env() {
		if strings.HasPrefix(kv, "PATH=") {
			kv = "PATH=" + shims + string(os.PathListSeparator) + kv[len("PATH="):]
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "MEKONG_README_CURL="+realCurl, "MEKONG_README_CODES="+filepath.Join(dir, "codes"),
		"__mk_out="+filepath.Join(dir, "out"), "__mk_err="+filepath.Join(dir, "err"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = stdinR
	cmd.ExtraFiles = []*os.File{statusW} // fd 3
	var shellOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &shellOut, &shellOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdinR.Close()
	statusW.Close()
	sh := &shell{cmd: cmd, stdin: stdinW, status: make(chan string), dir: dir}
	go func() {
		sc := bufio.NewScanner(statusR)
		for sc.Scan() {
			sh.status <- sc.Text()
		}
		close(sh.status)
	}()
	t.Cleanup(func() {
		stdinW.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() && shellOut.Len() > 0 {
			t.Logf("bash itself said:\n%s", clip(shellOut.Bytes()))
		}
	})
	// pipefail: `curl ... | jq` fails when curl does.
	fmt.Fprintln(stdinW, "set -o pipefail")
	return sh
}

func (sh *shell) run(t *testing.T, st statement) result {
	codes := filepath.Join(sh.dir, "codes")
	os.WriteFile(codes, nil, 0o644)
	// A group, not a subshell, so assignments and exports persist; stdin
	// is /dev/null so no command can eat the statements that follow.
	fmt.Fprintf(sh.stdin, "{\n%s\n} </dev/null >\"$__mk_out\" 2>\"$__mk_err\" 3>&-\necho $? >&3\n", st.text)
	start := time.Now()
	var r result
	select {
	case s, ok := <-sh.status:
		if !ok {
			t.Fatalf("README.md:%d: bash exited", st.line)
		}
		r.exit, _ = strconv.Atoi(s)
	case <-time.After(stmtTimeout):
		r.timedOut = true
	}
	r.took = time.Since(start)
	r.stdout, _ = os.ReadFile(filepath.Join(sh.dir, "out"))
	r.stderr, _ = os.ReadFile(filepath.Join(sh.dir, "err"))
	b, _ := os.ReadFile(codes)
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		r.codes = append(r.codes, n)
	}
	return r
}

func readREADME(t *testing.T) string {
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func clip(b []byte) string {
	const n = 3000
	if len(b) > n {
		return string(b[:n]) + fmt.Sprintf("\n... (%d bytes more)", len(b)-n)
	}
	return string(b)
}
