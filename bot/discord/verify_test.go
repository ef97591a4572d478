package discord

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signatureVector is one entry of discord_signature_vectors.json.
type signatureVector struct {
	Name        string `json:"name"`
	PrivateSeed string `json:"private_seed"`
	PublicKey   string `json:"public_key"`
	Timestamp   string `json:"timestamp"`
	BodyFile    string `json:"body_file"`
	Body        string `json:"body"`
	Signature   string `json:"signature"`
	ExpectValid bool   `json:"expect_valid"`
}

func signatureVectors(t *testing.T) []signatureVector {
	t.Helper()
	var f struct {
		Vectors []signatureVector `json:"vectors"`
	}
	if err := json.Unmarshal(readTestdata(t, "discord_signature_vectors.json"), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 5 {
		t.Fatalf("only %d signature vectors", len(f.Vectors))
	}
	return f.Vectors
}

func signedHeader(timestamp, sig string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set("X-Signature-Ed25519", sig)
	}
	if timestamp != "" {
		h.Set("X-Signature-Timestamp", timestamp)
	}
	return h
}

func mustKey(t *testing.T, s string) ed25519.PublicKey {
	t.Helper()
	k, err := ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPublishedSignatureVectors(t *testing.T) {
	for _, v := range signatureVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			body := []byte(v.Body)
			if v.BodyFile != "" {
				// The real PING: the raw file must be what Discord signed.
				body = readTestdata(t, v.BodyFile)
				if string(body) != v.Body {
					t.Fatalf("%s differs from the vector's body", v.BodyFile)
				}
			}
			err := Verify(mustKey(t, v.PublicKey), signedHeader(v.Timestamp, v.Signature), body, unixAt(t, v.Timestamp))
			if v.ExpectValid && err != nil {
				t.Errorf("valid signature refused: %v", err)
			}
			if !v.ExpectValid && !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("invalid signature accepted (err %v)", err)
			}
		})
	}
}

func TestMalformedSignaturesAreRefused(t *testing.T) {
	ping := signatureVectors(t)[0]
	key := mustKey(t, ping.PublicKey)
	body := readTestdata(t, "discord_ping_signed.json")
	upper := strings.ToUpper(ping.Signature)
	cases := []struct {
		name, timestamp, sig string
		valid                bool
	}{
		{"uppercase hex is still the signature", ping.Timestamp, upper, true},
		{"no signature header", ping.Timestamp, "", false},
		{"no timestamp header", "", ping.Signature, false},
		{"not hex", ping.Timestamp, strings.Repeat("zz", 64), false},
		{"odd length hex", ping.Timestamp, ping.Signature[:127], false},
		{"too short", ping.Timestamp, ping.Signature[:126], false},
		{"too long", ping.Timestamp, ping.Signature + "00", false},
		{"all zeros", ping.Timestamp, strings.Repeat("0", 128), false},
		{"one bit flipped", ping.Timestamp, flipLastBit(t, ping.Signature), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(key, signedHeader(tc.timestamp, tc.sig), body, unixAt(t, ping.Timestamp))
			if tc.valid != (err == nil) {
				t.Errorf("Verify = %v, want valid %v", err, tc.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("err %v does not wrap ErrInvalidSignature", err)
			}
		})
	}
}

// unixAt is the instant of a Unix-seconds timestamp header.
func unixAt(t *testing.T, ts string) time.Time {
	t.Helper()
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(secs, 0)
}

// Discord's real PING, checked as it arrived and as someone who captured
// it might replay it.
func TestASignedRequestIsGoodForFiveMinutes(t *testing.T) {
	ping := signatureVectors(t)[0]
	key := mustKey(t, ping.PublicKey)
	body := readTestdata(t, "discord_ping_signed.json")
	signed := unixAt(t, ping.Timestamp)
	for _, tc := range []struct {
		name  string
		now   time.Time
		valid bool
	}{
		{"as it arrived", signed.Add(time.Second), true},
		{"with the endpoint's clock a little behind", signed.Add(-4 * time.Minute), true},
		{"4m59s later", signed.Add(4*time.Minute + 59*time.Second), true},
		{"replayed 5m01s later", signed.Add(5*time.Minute + time.Second), false},
		{"replayed a year later", signed.AddDate(1, 0, 0), false},
		{"signed 6 minutes ahead of the endpoint", signed.Add(-6 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(key, signedHeader(ping.Timestamp, ping.Signature), body, tc.now)
			if tc.valid != (err == nil) {
				t.Errorf("Verify = %v, want valid %v", err, tc.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("err %v does not wrap ErrInvalidSignature", err)
			}
		})
	}
	for _, ts := range []string{"soon", "1664386204.5", "99999999999999999999", "-9223372036854775808"} {
		if err := Verify(key, signedHeader(ts, ping.Signature), body, signed); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("timestamp %q: err = %v, want a refusal", ts, err)
		}
	}
}

func flipLastBit(t *testing.T, sigHex string) string {
	b, err := hex.DecodeString(sigHex)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	return hex.EncodeToString(b)
}

func TestVerifyWithABrokenKeyRefusesRatherThanPanics(t *testing.T) {
	ping := signatureVectors(t)[0]
	for _, key := range []ed25519.PublicKey{nil, make(ed25519.PublicKey, 31)} {
		err := Verify(key, signedHeader(ping.Timestamp, ping.Signature), readTestdata(t, "discord_ping_signed.json"), unixAt(t, ping.Timestamp))
		if !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("key of %d bytes: err = %v", len(key), err)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	const hexKey = "883cc7e299900430883b9f3cdf322bb8a500420b410c52ab253c1ad6f1bc6671"
	k, err := ParsePublicKey(" " + hexKey + "\n")
	if err != nil || hex.EncodeToString(k) != hexKey {
		t.Errorf("ParsePublicKey = %x, %v", k, err)
	}
	for _, bad := range []string{"", "xyz", hexKey[:62], hexKey + "00"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}
