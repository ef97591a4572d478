package discord

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidSignature is wrapped by every reason Verify refuses a request.
var ErrInvalidSignature = errors.New("invalid request signature")

// maxSkew is how far a request's timestamp may be from now, either way.
// Discord signs the timestamp with the body but sets no window; without
// one, a captured "resolve 42" could be replayed forever. Five minutes, as
// Slack's.
const maxSkew = 5 * time.Minute

// Verify checks Discord's signature of an interaction: X-Signature-Ed25519 is
// the hex Ed25519 signature of X-Signature-Timestamp (Unix seconds)
// followed by the raw body, and the timestamp must be within five minutes
// of now. Discord probes endpoints with bad signatures and delists those
// that accept them, so anything short of a valid signature is an error.
func Verify(publicKey ed25519.PublicKey, header http.Header, body []byte, now time.Time) error {
	if len(publicKey) != ed25519.PublicKeySize {
		// ed25519.Verify panics on a key of the wrong size.
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidSignature, len(publicKey), ed25519.PublicKeySize)
	}
	sigHex := header.Get("X-Signature-Ed25519")
	if sigHex == "" {
		return fmt.Errorf("%w: missing X-Signature-Ed25519", ErrInvalidSignature)
	}
	timestamp := header.Get("X-Signature-Timestamp")
	if timestamp == "" {
		return fmt.Errorf("%w: missing X-Signature-Timestamp", ErrInvalidSignature)
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Signature-Timestamp is not Unix seconds", ErrInvalidSignature)
	}
	// Compared in seconds, bounds on now's side, so that an absurd
	// timestamp cannot overflow its way into the window.
	if window := int64(maxSkew / time.Second); secs < now.Unix()-window || secs > now.Unix()+window {
		return fmt.Errorf("%w: timestamp is more than 5 minutes from now", ErrInvalidSignature)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return fmt.Errorf("%w: X-Signature-Ed25519 is not hex", ErrInvalidSignature)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: X-Signature-Ed25519 is %d bytes, want %d", ErrInvalidSignature, len(sig), ed25519.SignatureSize)
	}
	msg := make([]byte, 0, len(timestamp)+len(body))
	msg = append(append(msg, timestamp...), body...)
	if !ed25519.Verify(publicKey, msg, sig) {
		return fmt.Errorf("%w: signature does not match", ErrInvalidSignature)
	}
	return nil
}

// ParsePublicKey reads the application's public key as the developer portal
// shows it: 64 hex digits.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("discord public key is not hex")
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("discord public key is %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}
