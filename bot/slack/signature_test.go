package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Slack docs vector: secret, timestamp and the signed slash command body
// in testdata/slack_slash_command_signed.txt.
const (
	docsSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docsTimestamp = 1531420618
	docsSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

// docsTime is the instant the docs vector was signed.
func docsTime() time.Time { return time.Unix(docsTimestamp, 0) }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testSign signs as Slack does, written out independently of the package.
func testSign(secret string, ts int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":" + body))
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func slackHeader(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set("X-Slack-Request-Timestamp", ts)
	}
	if sig != "" {
		h.Set("X-Slack-Signature", sig)
	}
	return h
}

func TestPublishedSignatureVectors(t *testing.T) {
	var file struct {
		Vectors []struct {
			Name          string `json:"name"`
			SigningSecret string `json:"signing_secret"`
			Timestamp     string `json:"timestamp"`
			BodyFile      string `json:"body_file"`
			Body          string `json:"body"`
			Signature     string `json:"signature"`
			ExpectValid   bool   `json:"expect_valid"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(readTestdata(t, "slack_signature_vectors.json"), &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 5 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			body := []byte(v.Body)
			if v.BodyFile != "" {
				// The raw bytes Slack signed, which the inline copy must match.
				body = readTestdata(t, v.BodyFile)
				if string(body) != v.Body {
					t.Fatalf("%s differs from the vector's body", v.BodyFile)
				}
			}
			secs, err := strconv.ParseInt(v.Timestamp, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			// The wrong-timestamp vector is refused for its signature, not
			// for its age: the clock is frozen at the docs' instant.
			now := docsTime()
			if v.SigningSecret != docsSecret {
				now = time.Unix(secs, 0)
			}
			err = Verify(v.SigningSecret, slackHeader(v.Timestamp, v.Signature), body, now)
			if v.ExpectValid && err != nil {
				t.Errorf("valid vector refused: %v", err)
			}
			if !v.ExpectValid {
				if err == nil {
					t.Error("invalid vector accepted")
				} else if !strings.Contains(err.Error(), "does not match") {
					t.Errorf("err = %v, want a signature mismatch", err)
				}
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	body := readTestdata(t, "slack_slash_command_signed.txt")
	ts := strconv.FormatInt(docsTimestamp, 10)
	cases := []struct {
		name    string
		secret  string
		header  http.Header
		body    []byte
		now     time.Time
		wantErr string
	}{
		{"tampered body", docsSecret, slackHeader(ts, docsSignature),
			[]byte(strings.Replace(string(body), "text=", "text=resolve+all", 1)), docsTime(), "does not match"},
		{"wrong secret", "another-apps-secret", slackHeader(ts, docsSignature), body, docsTime(), "does not match"},
		{"stale by 5m01s", docsSecret, slackHeader(ts, docsSignature), body, docsTime().Add(5*time.Minute + time.Second), "more than 5 minutes"},
		{"from 5m01s in the future", docsSecret, slackHeader(ts, docsSignature), body, docsTime().Add(-5*time.Minute - time.Second), "more than 5 minutes"},
		{"replayed a day later", docsSecret, slackHeader(ts, docsSignature), body, docsTime().Add(24 * time.Hour), "more than 5 minutes"},
		{"absurd timestamp", docsSecret, slackHeader("-9223372036854775808", testSign(docsSecret, -1<<63, string(body))), body, docsTime(), "more than 5 minutes"},
		{"no signing secret", "", slackHeader(ts, testSign("", docsTimestamp, string(body))), body, docsTime(), "no signing secret"},
		{"missing timestamp", docsSecret, slackHeader("", docsSignature), body, docsTime(), "missing X-Slack-Request-Timestamp"},
		{"garbled timestamp", docsSecret, slackHeader("1531420618.5", docsSignature), body, docsTime(), "malformed X-Slack-Request-Timestamp"},
		{"missing signature", docsSecret, slackHeader(ts, ""), body, docsTime(), "missing X-Slack-Signature"},
		{"other version", docsSecret, slackHeader(ts, "v1="+strings.TrimPrefix(docsSignature, "v0=")), body, docsTime(), "unsupported signature version"},
		{"not hex", docsSecret, slackHeader(ts, "v0=zz"+docsSignature[5:]), body, docsTime(), "malformed X-Slack-Signature"},
		{"truncated", docsSecret, slackHeader(ts, docsSignature[:40]), body, docsTime(), "malformed X-Slack-Signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.body, tc.now)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestVerifyWindowEdges(t *testing.T) {
	body := readTestdata(t, "slack_slash_command_signed.txt")
	h := slackHeader(strconv.FormatInt(docsTimestamp, 10), docsSignature)
	for _, now := range []time.Time{docsTime().Add(5 * time.Minute), docsTime().Add(-5 * time.Minute), docsTime()} {
		if err := Verify(docsSecret, h, body, now); err != nil {
			t.Errorf("at %s from the timestamp: %v", now.Sub(docsTime()), err)
		}
	}
}

func TestVerifyAcceptsUppercaseHex(t *testing.T) {
	body := readTestdata(t, "slack_slash_command_signed.txt")
	h := slackHeader(strconv.FormatInt(docsTimestamp, 10), "v0="+strings.ToUpper(strings.TrimPrefix(docsSignature, "v0=")))
	if err := Verify(docsSecret, h, body, docsTime()); err != nil {
		t.Error(err)
	}
}
