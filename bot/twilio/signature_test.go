package twilio

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sigVector is one entry of testdata/twilio_signature_vectors.json.
type sigVector struct {
	Name                string            `json:"name"`
	AuthToken           string            `json:"auth_token"`
	URL                 string            `json:"url"`
	Params              map[string]string `json:"params"`
	ParamsMulti         [][2]string       `json:"params_multi"`
	BodyFile            string            `json:"body_file"`
	RawBody             string            `json:"raw_body"`
	BodySHA256Hex       string            `json:"body_sha256_hex"`
	DataToSign          string            `json:"data_to_sign"`
	Signature           string            `json:"signature"`
	ExpectValid         bool              `json:"expect_valid"`
	WrongOrderSignature string            `json:"wrong_order_signature"`
}

func loadVectors(t testing.TB) []sigVector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "twilio_signature_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []sigVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

// form is the vector's POST params, whichever way the vector gives them.
func (v sigVector) form(t testing.TB) url.Values {
	t.Helper()
	form := url.Values{}
	for k, val := range v.Params {
		form.Set(k, val)
	}
	for _, kv := range v.ParamsMulti {
		form.Add(kv[0], kv[1])
	}
	if v.BodyFile != "" {
		b, err := os.ReadFile(filepath.Join("testdata", v.BodyFile))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := url.ParseQuery(string(b))
		if err != nil {
			t.Fatal(err)
		}
		for k, vals := range parsed {
			form[k] = append(form[k], vals...)
		}
	}
	return form
}

func TestValidSignatureVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			form := v.form(t)
			if got := ValidSignature(v.AuthToken, v.URL, form, v.Signature); got != v.ExpectValid {
				t.Fatalf("ValidSignature = %v, want %v", got, v.ExpectValid)
			}
			if v.DataToSign != "" {
				if got := v.URL + signedParams(form); got != v.DataToSign {
					t.Errorf("signed data\n got %q\nwant %q", got, v.DataToSign)
				}
			}
			if v.WrongOrderSignature != "" && ValidSignature(v.AuthToken, v.URL, form, v.WrongOrderSignature) {
				t.Error("signature over wrongly sorted params accepted")
			}
			if v.ExpectValid {
				if ValidSignature(v.AuthToken+"x", v.URL, form, v.Signature) {
					t.Error("valid with the wrong token")
				}
				if ValidSignature(v.AuthToken, v.URL+"&x=1", form, v.Signature) {
					t.Error("valid for another URL")
				}
				// Twilio may sign with or without the default port; both
				// spellings of the URL must pass.
				for _, u := range urlVariants(v.URL) {
					if !ValidSignature(v.AuthToken, u, form, v.Signature) {
						t.Errorf("rejected for %s", u)
					}
				}
			}
			// JSON-bodied webhooks sign the URL alone (which carries the
			// body hash), so ValidSignature covers the signature half; the
			// body-hash half only matters for JSON webhooks, which Klaxon
			// does not accept. Check the vector is self-consistent anyway.
			if v.RawBody != "" {
				sum := sha256.Sum256([]byte(v.RawBody))
				if got := hex.EncodeToString(sum[:]); got != v.BodySHA256Hex || !strings.Contains(v.URL, "bodySHA256="+got) {
					t.Errorf("body sha256 %s does not match the vector", got)
				}
			}
		})
	}
}

func TestValidSignatureDefaultPorts(t *testing.T) {
	form := url.Values{"Digits": {"1"}, "From": {"+15551234567"}}
	sign := func(u string) string { return computeSignature("tok", u, signedParams(form)) }
	cases := []struct {
		name, signedURL, checkURL string
		want                      bool
	}{
		{"exact", "https://h.example/a?b=1", "https://h.example/a?b=1", true},
		{"signed with :443, checked without", "https://h.example:443/a?b=1", "https://h.example/a?b=1", true},
		{"signed without, checked with :443", "https://h.example/a?b=1", "https://h.example:443/a?b=1", true},
		{"http signed with :80", "http://h.example:80/a", "http://h.example/a", true},
		{"http signed without, checked with :80", "http://h.example/a", "http://h.example:80/a", true},
		{"https does not take :80", "https://h.example:80/a", "https://h.example/a", false},
		{"non-default port is kept", "https://h.example/a", "https://h.example:8443/a", false},
		{"non-default port exact", "https://h.example:8443/a", "https://h.example:8443/a", true},
		{"no path", "https://h.example:443", "https://h.example", true},
		{"ipv6 literal", "https://[::1]:443/a", "https://[::1]/a", true},
		{"ipv6 literal not a port", "https://[::1]/a", "https://[::1]/a", true},
		{"other host", "https://h.example/a", "https://evil.example/a", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidSignature("tok", tc.checkURL, form, sign(tc.signedURL)); got != tc.want {
				t.Fatalf("got %v, want %v (variants %q)", got, tc.want, urlVariants(tc.checkURL))
			}
		})
	}
}

func TestValidSignatureRejects(t *testing.T) {
	form := url.Values{"A": {"1"}}
	good := computeSignature("tok", "https://h/x", signedParams(form))
	if !ValidSignature("tok", "https://h/x", form, good) {
		t.Fatal("control case rejected")
	}
	cases := map[string]func() bool{
		"empty token":     func() bool { return ValidSignature("", "https://h/x", form, computeSignature("", "https://h/x", "A1")) },
		"empty signature": func() bool { return ValidSignature("tok", "https://h/x", form, "") },
		"extra param":     func() bool { return ValidSignature("tok", "https://h/x", url.Values{"A": {"1"}, "B": {""}}, good) },
		"changed value":   func() bool { return ValidSignature("tok", "https://h/x", url.Values{"A": {"2"}}, good) },
		"not base64":      func() bool { return ValidSignature("tok", "https://h/x", form, "%%%") },
		"truncated":       func() bool { return ValidSignature("tok", "https://h/x", form, good[:len(good)-1]) },
		"trailing slash":  func() bool { return ValidSignature("tok", "https://h/x/", form, good) },
	}
	for name, f := range cases {
		if f() {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzValidSignature(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.AuthToken, v.URL, v.form(f).Encode(), v.Signature)
	}
	f.Add("", "", "", "")
	f.Add("t", "https://[::1", "a=%zz", "=")
	f.Add("t", "http://@:80", "a=1&a=1&a=0", "x")
	f.Fuzz(func(t *testing.T, token, fullURL, body, sig string) {
		form, _ := url.ParseQuery(body)
		_ = ValidSignature(token, fullURL, form, sig)
		// A signature we compute ourselves must always validate.
		if token != "" && !ValidSignature(token, fullURL, form, computeSignature(token, fullURL, signedParams(form))) {
			t.Fatalf("own signature rejected for %q %q", fullURL, body)
		}
	})
}
