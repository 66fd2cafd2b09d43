package server_test

// Bad input never costs a 5xx, a crash or the machine's memory (issue 14
// item 11): adversarial requests to every route the server registers.
// Each answer is below 500 (and an OperationOutcome when it is an error on
// /fhir), and the server still answers afterwards.

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// adversarial bodies, by what they try.
func adversarialBodies() map[string]string {
	deep := strings.Repeat(`{"extension":[`, 20000) + strings.Repeat(`]}`, 20000)
	var traversal bytes.Buffer
	zw := zip.NewWriter(&traversal)
	w, _ := zw.Create("../../../../etc/PERSON.txt")
	w.Write([]byte("HOSPCODE|PID\n1|2\n"))
	zw.Close()
	var bomb bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
	gw.Write(bytes.Repeat([]byte("\n"), 32<<20))
	gw.Close()
	return map[string]string{
		"deep nesting":             `{"resourceType":"Patient","extension":[` + deep + `]}`,
		"deep nesting, bare":       strings.Repeat("[", 100000),
		"invalid UTF-8":            "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\xfe\xc3\"}],\"\xffid\":\"x\"}",
		"huge numbers":             `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e99999},"component":[{"code":{"text":"y"},"valueInteger":` + strings.Repeat("9", 5000) + `}]}`,
		"wrong JSON types":         `{"resourceType":["Patient"],"id":{"a":1},"name":"Sok","birthDate":19900401,"active":"true","meta":[]}`,
		"wrong top-level type":     `[{"resourceType":"Patient"}]`,
		"null":                     `null`,
		"string":                   `"Patient"`,
		"oversized id":             `{"resourceType":"Patient","id":"` + strings.Repeat("a", 100000) + `"}`,
		"NUL and controls":         "{\"resourceType\":\"Patient\",\"id\":\"a\\u0000b\",\"gender\":\"\\u0007\"}",
		"Bundle of garbage":        `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:x","resource":` + deep[:20000] + `,"request":{"method":"POST","url":"../../Patient"}},{"request":{"method":"TRACE","url":"/etc/passwd"}},null,7]}`,
		"Parameters of garbage":    `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient.where(` + strings.Repeat("(", 5000) + `"}]}]}`,
		"JSON Patch of garbage":    `[{"op":"add","path":"/` + strings.Repeat("a/", 10000) + `","value":1},{"op":"move","from":"/","path":"/a"}]`,
		"ZIP with traversal":       traversal.String(),
		"gzip bomb (32 MB of \\n)": bomb.String(),
		"truncated":                `{"resourceType":"Patient","name":[{"family":"So`,
	}
}

// adversarialQueries are query strings (already percent-encoded where HTTP needs it).
var adversarialQueries = map[string]string{
	"malformed escapes":    "name=%zz&%ff=1&_count=%",
	"invalid UTF-8":        "name=%ff%fe&family:exact=%c3",
	"huge numbers":         "_count=99999999999999999999999&value-quantity=1e99999&probability=" + strings.Repeat("9", 3000),
	"impossible dates":     "birthdate=1990-02-30&date=ge2026-13-01T25:61:00%2B99:00&_since=0000-00-00&_lastUpdated=gt9999-12-31T23:59:60Z",
	"3000 parameters":      strings.Repeat("gender=male&", 3000),
	"3000 values":          "identifier=" + strings.Repeat("urn:x|1,", 3000),
	"deep chains":          "subject:Patient.link:Patient.link:Patient.link:Patient.link:Patient.name=x&" + strings.Repeat("_has:Observation:subject:", 50) + "code=x",
	"oversized value":      "name=" + strings.Repeat("a", 200000),
	"traversal":            "format=../../etc/passwd&_type=../Patient&_outputFormat=/etc/passwd&hospcode=../../x",
	"bad controls":         "_sort=-,--,name:&_include=*:*:*&_revinclude=:&_elements=..&_summary=maybe&_total=lots&_format=xml&_pretty=yes&_cursor=!!!",
	"bulk parameters":      "_type=Patient,Bogus&_since=yesterday&_typeFilter=Patient%3Fname%3Dx",
	"translate parameters": "url=" + strings.Repeat("x", 10000) + "&system=%00&code=" + strings.Repeat("%ff", 1000),
}

// adversarialIDs replace :id, :vid, :job and :file.
var adversarialIDs = map[string]string{
	"oversized":     strings.Repeat("a", 10000),
	"traversal":     "..%2F..%2Fetc%2Fpasswd",
	"dot-dot":       "..",
	"invalid UTF-8": "%FF%FE",
	"NUL":           "a%00b",
}

func TestBadInputOnEveryRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a few thousand adversarial requests")
	}
	srv, h := newServerWithBulk(t)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	send := func(what, method, path, ct, body string, headers ...string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Add(headers[i], headers[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %s %.120s: %v", what, method, path, err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Errorf("%s: %s %.120s: %d %.300s", what, method, path, res.StatusCode, got)
			return
		}
		if res.StatusCode >= 400 && strings.HasPrefix(path, "/fhir") && method != "HEAD" {
			var oo struct{ ResourceType string }
			if json.Unmarshal(got, &oo) != nil || oo.ResourceType != "OperationOutcome" {
				t.Errorf("%s: %s %.120s: %d without an OperationOutcome: %.200s", what, method, path, res.StatusCode, got)
			}
		}
	}
	seed := `{"resourceType":"Patient","id":"x"}`
	send("seed", "PUT", "/fhir/Patient/x", "application/fhir+json", seed)

	bodies := adversarialBodies()
	n := 0
	for _, r := range h.RouteList() {
		if strings.Contains(r.Path, "*") {
			continue
		}
		fill := strings.NewReplacer(":type", "Patient", ":id", "x", ":vid", "1", ":job", "nojob", ":file", "output-0.ndjson")
		path := fill.Replace(r.Path)
		hasBody := r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH"
		for name, q := range adversarialQueries {
			send("query "+name, r.Method, path+"?"+q, "", "")
			n++
		}
		// The other types have their own search parameters (AuditEvent's
		// are read from the audit log, not the resource index).
		if strings.Contains(r.Path, ":type") {
			for _, typ := range []string{"AuditEvent", "Observation", "Immunization", "Provenance"} {
				other := strings.NewReplacer(":type", typ, ":id", "x", ":vid", "1").Replace(r.Path)
				for name, q := range adversarialQueries {
					send(typ+" query "+name, r.Method, other+"?"+q, "", "")
					n++
				}
			}
		}
		if strings.Contains(r.Path, ":") {
			for name, id := range adversarialIDs {
				p := strings.NewReplacer(":type", "Patient", ":id", id, ":vid", id, ":job", id, ":file", id).Replace(r.Path)
				send("id "+name, r.Method, p, "", "")
				n++
			}
			send("type traversal", r.Method, strings.NewReplacer(":type", "..%2F..%2Fetc", ":id", "x", ":vid", "1", ":job", "j", ":file", "f").Replace(r.Path), "", "")
		}
		if !hasBody {
			continue
		}
		for name, body := range bodies {
			for _, ct := range []string{"application/fhir+json", "application/json-patch+json", "application/zip", "application/fhir+ndjson", "text/csv"} {
				send("body "+name+" as "+ct, r.Method, path, ct, body, "Prefer", "respond-async")
				n++
			}
		}
		// Multipart with traversal in file names and more files than allowed.
		mp, ct := rawMultipart(map[string]string{"../../../../etc/passwd": "x", "..\\..\\boot.ini": "y", "PERSON.txt\x00.exe": "z"})
		send("multipart traversal", r.Method, path+"?format=th43", ct, mp)
		n++
	}
	// Headers: duplicates, garbage and sizes, on a read and a write.
	for _, hdr := range [][]string{
		{"If-Match", "W/\"" + strings.Repeat("9", 400) + "\""}, {"If-None-Exist", "%zz=" + strings.Repeat("a", 5000)},
		{"Prefer", strings.Repeat("return=minimal,", 1000)}, {"Accept", strings.Repeat("application/xml;q=0.", 500)},
		{"Authorization", "Bearer \xff\xfe"}, {"If-None-Match", "W/\"\xff\""}, {"X-Request-ID", strings.Repeat("\xff<script>", 60)},
		{"Content-Type", "application/fhir+json; charset=utf-16; fhirVersion=9"},
	} {
		send("header "+hdr[0], "PUT", "/fhir/Patient/x", "application/fhir+json", seed, hdr...)
		send("header "+hdr[0], "GET", "/fhir/Patient/x", "", "", hdr...)
		n += 2
	}
	// Still alive, and still right.
	for _, p := range []string{"/healthz", "/readyz", "/fhir/metadata", "/fhir/Patient/x"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		res, err := client.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("after the bad input, GET %s: %v %v", p, res, err)
		}
		res.Body.Close()
	}
	t.Logf("%d adversarial requests", n)
}

// rawMultipart writes file names as given (mime/multipart would escape
// them), so traversal and NUL reach the server.
func rawMultipart(files map[string]string) (body, contentType string) {
	var buf bytes.Buffer
	boundary := "mekong-bad-input"
	for name, data := range files {
		fmt.Fprintf(&buf, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n", boundary, name, data)
	}
	fmt.Fprintf(&buf, "--%s--\r\n", boundary)
	return buf.String(), "multipart/form-data; boundary=" + boundary
}
