package discord

import (
	"crypto/ed25519"
	"encoding/hex"
	"strconv"
	"testing"
	"time"
)

// FuzzVerify: whatever arrives, Verify never panics and never accepts a
// signature the key did not make, nor one made outside the window.
func FuzzVerify(f *testing.F) {
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	good := hex.EncodeToString(ed25519.Sign(priv, []byte(`1700000000{"type":1}`)))
	f.Add("1700000000", good, `{"type":1}`)
	f.Add("", "", "")
	f.Add("1700000000", "zz", `{"type":1}`)
	f.Add("1", good[:10], "{}")
	f.Fuzz(func(t *testing.T, ts, sig, body string) {
		now := time.Unix(1700000000, 0)
		err := Verify(pub, signedHeader(ts, sig), []byte(body), now)
		if err != nil {
			return
		}
		raw, derr := hex.DecodeString(sig)
		if derr != nil || !ed25519.Verify(pub, []byte(ts+body), raw) {
			t.Fatalf("Verify accepted a forged signature: ts %q sig %q", ts, sig)
		}
		if secs, perr := strconv.ParseInt(ts, 10, 64); perr != nil || time.Unix(secs, 0).Sub(now).Abs() > maxSkew {
			t.Fatalf("Verify accepted a timestamp outside the window: %q", ts)
		}
	})
}
