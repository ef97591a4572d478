package escalation

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error for the people and programs that caused it; HTTP
// handlers and chat replies map it to a status or a sentence alike.
type Code string

// Error codes.
const (
	CodeInvalid      Code = "invalid"
	CodeNotFound     Code = "not_found"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeConflict     Code = "conflict"
	CodeTooLarge     Code = "too_large"
	CodeRateLimited  Code = "rate_limited"
	// CodeUnavailable: not taken now (shutting down, or a journal that
	// cannot be written); the caller should try again later.
	CodeUnavailable Code = "unavailable"
	CodeInternal    Code = "internal"
)

// Error is an error with a code and a message fit to show the caller.
type Error struct {
	Code    Code
	Message string
	// RetryAfter tells a rate-limited caller when to try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Errorf builds a coded error.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode extracts the code of err; uncoded errors are internal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrNotFound) {
		return CodeNotFound
	}
	return CodeInternal
}

// ErrorMessage is what the caller may see: the coded message, or a generic
// sentence for internal errors (whose details belong in the log).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	if errors.Is(err, ErrNotFound) && !errors.As(err, &e) {
		return err.Error()
	}
	return "internal error"
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a delivery failure that retrying will not fix (an invalid
// phone number): the engine moves on to the person's next contact rule.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
