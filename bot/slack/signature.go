package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Slack's signing headers and limits.
const (
	headerSignature = "X-Slack-Signature"
	headerTimestamp = "X-Slack-Request-Timestamp"
	signatureV0     = "v0="
	// maxSkew is how far a request's timestamp may be from now, either way:
	// a captured request replayed later is refused.
	maxSkew = 5 * time.Minute
)

// Verify checks Slack's v0 request signature: X-Slack-Signature must be
// "v0=" + hex(HMAC-SHA256(signingSecret, "v0:" + X-Slack-Request-Timestamp +
// ":" + body)), and the timestamp within five minutes of now. body is the raw
// request body, before any form parsing. An empty signing secret never
// verifies: anyone could sign with it.
func Verify(signingSecret string, header http.Header, body []byte, now time.Time) error {
	if signingSecret == "" {
		return errors.New("slack signature: no signing secret configured")
	}
	ts := header.Get(headerTimestamp)
	if ts == "" {
		return errors.New("slack signature: missing " + headerTimestamp)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("slack signature: malformed " + headerTimestamp)
	}
	// Compared in seconds, bounds on now's side, so that an absurd timestamp
	// cannot overflow its way into the window.
	if window := int64(maxSkew / time.Second); secs < now.Unix()-window || secs > now.Unix()+window {
		return errors.New("slack signature: timestamp is more than 5 minutes from now")
	}
	sig := header.Get(headerSignature)
	if sig == "" {
		return errors.New("slack signature: missing " + headerSignature)
	}
	hexSig, ok := strings.CutPrefix(sig, signatureV0)
	if !ok {
		return errors.New("slack signature: unsupported signature version")
	}
	presented, err := hex.DecodeString(hexSig)
	if err != nil || len(presented) != sha256.Size {
		return errors.New("slack signature: malformed " + headerSignature)
	}
	mac := hmac.New(sha256.New, []byte(signingSecret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), presented) {
		return errors.New("slack signature: does not match")
	}
	return nil
}
