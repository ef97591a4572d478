package discord

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrInvalidSignature is wrapped by every reason Verify refuses a request.
var ErrInvalidSignature = errors.New("invalid request signature")

// Verify checks Discord's signature of an interaction: X-Signature-Ed25519 is
// the hex Ed25519 signature of X-Signature-Timestamp followed by the raw
// body. Discord probes endpoints with bad signatures and delists those that
// accept them, so anything short of a valid signature is an error.
func Verify(publicKey ed25519.PublicKey, header http.Header, body []byte) error {
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
