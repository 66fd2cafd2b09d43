package healthcard

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeVerifiesOurCards checks Mekong's cards with a second, independent
// implementation: Node's WebCrypto and zlib (testdata/verify.mjs). The
// official examples go through it too, so the script itself is checked.
func TestNodeVerifiesOurCards(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is needed for the independent verifier")
		}
		t.Skip("node not installed")
	}
	run := func(jws string, jwks []byte) ([]byte, error) {
		in, _ := json.Marshal(map[string]any{"jws": jws, "jwks": json.RawMessage(jwks)})
		cmd := exec.Command(node, filepath.Join("testdata", "verify.mjs"))
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, &exec.ExitError{Stderr: stderr.Bytes()}
		}
		return out, nil
	}
	k, _ := NewKey()
	jws := signTestCard(t, k, "https://mekong.example.org/fhir")
	jwks := JWKS([]*Key{k})
	out, err := run(jws, jwks)
	if err != nil {
		t.Fatalf("node refused our card: %v", err)
	}
	j, _ := ParseJWS(jws)
	if !bytes.Equal(out, j.Payload) {
		t.Fatalf("node's payload differs:\n%s\n%s", out, j.Payload)
	}
	if _, err := run(tamper(t, jws), jwks); err == nil {
		t.Fatal("node accepted a tampered card")
	}
	official := readFile(t, "hl7/example-00-d-jws.txt")
	if _, err := run(string(bytes.TrimSpace(official)), readFile(t, "smart-2023/jwks.json")); err != nil {
		t.Fatalf("node refused the official example: %v", err)
	}
}
