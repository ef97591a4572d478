package slack

import (
	"net/http"
	"strconv"
	"testing"
)

// FuzzVerify: whatever arrives in the headers and body, Verify never
// panics, and it accepts only what the secret really signed.
func FuzzVerify(f *testing.F) {
	body := string(readTestdata(f, "slack_slash_command_signed.txt"))
	f.Add(strconv.Itoa(docsTimestamp), docsSignature, body)
	f.Add("", "", "")
	f.Add("1531420618", "v0=", "token=x")
	f.Add("-1", "v1=00", "a=b")
	f.Add("99999999999999999999", "v0=zz", body)
	f.Fuzz(func(t *testing.T, ts, sig, body string) {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		err := Verify(docsSecret, h, []byte(body), docsTime())
		if err != nil {
			return
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || testSign(docsSecret, n, body) != sig && !equalFoldHex(testSign(docsSecret, n, body), sig) {
			t.Fatalf("Verify accepted a signature the secret did not make: ts %q sig %q", ts, sig)
		}
	})
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= y && y <= 'F' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
