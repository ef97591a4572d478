// Package web holds the few HTTP helpers every Klaxon adapter shares: JSON
// replies, coded errors mapped to statuses, bounded body reads, token
// comparison and the recover middleware. It depends on escalation only.
package web

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// DefaultMaxBody is the body limit of an endpoint that sets none.
const DefaultMaxBody = 1 << 20

// Appender is a reply that writes its own JSON, byte for byte what JSON's
// encoder would (newline included), where reflection costs too much on a
// hot path; ok false leaves a reply to the encoder.
type Appender interface {
	AppendJSON(b []byte) (_ []byte, ok bool)
}

// JSON writes v as the response body with the status. The body is encoded
// before the status is sent, so that a value JSON cannot encode (a time
// past year 9999) is a 500, not a 200 with an empty body.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if a, ok := v.(Appender); ok {
		if b, ok := a.AppendJSON(nil); ok {
			w.WriteHeader(status)
			_, _ = w.Write(b)
			return
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"internal error: the reply could not be encoded"}`+"\n")
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Status maps an error code to an HTTP status.
func Status(code escalation.Code) int {
	switch code {
	case escalation.CodeInvalid:
		return http.StatusBadRequest
	case escalation.CodeNotFound:
		return http.StatusNotFound
	case escalation.CodeUnauthorized:
		return http.StatusUnauthorized
	case escalation.CodeForbidden:
		return http.StatusForbidden
	case escalation.CodeConflict:
		return http.StatusConflict
	case escalation.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case escalation.CodeRateLimited:
		return http.StatusTooManyRequests
	case escalation.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Error answers with err's status and {"error": message}. Internal errors
// are logged and answered with a generic message.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := escalation.ErrorCode(err)
	if code == escalation.CodeInternal && log != nil {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", SafePath(r), "err", err)
	}
	SetRetryAfter(w, err)
	JSON(w, Status(code), map[string]string{"error": escalation.ErrorMessage(err)})
}

// SetRetryAfter sets Retry-After (whole seconds, rounded up) for an error
// that says when to try again.
func SetRetryAfter(w http.ResponseWriter, err error) {
	var e *escalation.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
}

// ReadBody reads the whole body up to limit bytes (DefaultMaxBody if limit
// is 0). A larger body is a CodeTooLarge error.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, escalation.Errorf(escalation.CodeTooLarge, "request body is larger than %d bytes", limit)
		}
		return nil, escalation.Errorf(escalation.CodeInvalid, "reading request body: %v", err)
	}
	return body, nil
}

// readAll is io.ReadAll with the buffer sized by the request's
// Content-Length (which net/http holds the body to) when it is within
// limit: one allocation per webhook instead of a chain of growing ones.
// The extra MinRead lets bytes.Buffer read the EOF without growing.
func readAll(rd io.Reader, length, limit int64) ([]byte, error) {
	size := 0
	if length > 0 && length < limit {
		size = int(length)
	}
	var buf bytes.Buffer
	buf.Grow(size + bytes.MinRead)
	_, err := buf.ReadFrom(rd)
	return buf.Bytes(), err
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}

// TokenEqual compares a presented secret with the expected one in constant
// time. An empty expected token never matches.
func TokenEqual(presented, expected string) bool {
	if expected == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(presented), []byte(expected)) == 1
}

// Recover turns a panic in a handler into a logged 500, so one bad request
// never takes the process down.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return RecoverCounting(log, nil, next)
}

// RecoverCounting is Recover that also calls counted (when not nil) for
// each panic, for a metric.
func RecoverCounting(log *slog.Logger, counted func(), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", SafePath(r),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if counted != nil {
					counted()
				}
				JSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// SafePath is the request path fit for a log line: the token of the
// /hooks/{integration}/{token} form is redacted.
func SafePath(r *http.Request) string {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/hooks/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return "/hooks/" + rest[:i] + "/REDACTED"
		}
	}
	return p
}

// DecodeAll decodes the one JSON value dec reads into v, and refuses
// anything after it but white space: a body of a good object followed by
// garbage is malformed, not the object.
func DecodeAll(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		return err
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON value, which ends at offset %d", end)
	}
	return nil
}
