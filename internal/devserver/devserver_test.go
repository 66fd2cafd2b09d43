package devserver

import (
	"slices"
	"strings"
	"testing"
)

// TestMakeRunListensWhereAsked: issue 14 item 15, "changing the port of
// make run is not explained, and MEKONG_ADDR is ignored by it". make run
// ADDR=host:port passes --addr; without ADDR it passes none, so serve's
// MEKONG_ADDR (and then its default) applies. Start checks that the server
// it runs this way listens where MEKONG_ADDR says.
func TestMakeRunListensWhereAsked(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	args, err := runArgs(root, "/tmp/bin")
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--addr") }) {
		t.Errorf("make run without ADDR passes an address, so MEKONG_ADDR is ignored: %v", args)
	}
	out, err := makeCmd(root, "-s", "-n", "run", "BIN=/tmp/bin", "ADDR=127.0.0.1:9099").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "--addr 127.0.0.1:9099") {
		t.Errorf("make run ADDR=127.0.0.1:9099 runs %q", out)
	}
}
