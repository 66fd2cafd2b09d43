package trust

import "testing"

func TestParseConfigRefusesMistakes(t *testing.T) {
	for _, bad := range []string{
		`{"issuers":[{"iss":"https://a.example/"}]}`,                            // trailing slash
		`{"issuers":[{"iss":"https://a.example","jwks":"x"}]}`,                  // unknown key
		`{"issuers":[{"iss":"https://a.example"},{"iss":"https://a.example"}]}`, // twice
		`{"issuers":[{"iss":"https://a.example","crl_files":["c.json"]}]}`,      // CRL without JWKS file
		`{"issuers":[],"fetch_timeout":"soon"}`,                                 // not a duration
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if _, err := ParseConfig([]byte(`{"issuers":[{"iss":"https://a.example","name":"A","jwks_file":"a.json","crl_files":["c.json"]}],"fetch_timeout":"2s","cache_for":"10m"}`)); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"issuers":[{"iss":"https://a.example","jwks_file":"a.json"}],"fetch_timeout":"2s"}`))
	f.Add([]byte(`{"issuers":[{"iss":"http://127.0.0.1:8080/fhir"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		for _, is := range c.Issuers {
			if is.Iss == "" || is.Iss[len(is.Iss)-1] == '/' {
				t.Fatalf("accepted issuer %q", is.Iss)
			}
		}
	})
}
