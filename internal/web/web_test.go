package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

func TestRecoverAnswers500AndKeepsServing(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := Recover(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hooks/am/s3cret-token" {
			panic("nil map in a parser")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/am/s3cret-token", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "internal error") {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "nil map in a parser") || strings.Contains(logs.String(), "s3cret-token") {
		t.Fatalf("log: %s", logs.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("next request: %d", rec.Code)
	}
}

func TestErrorHidesInternalDetails(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
		body string
	}{
		{escalation.Errorf(escalation.CodeInvalid, "alerts[0].status: required"), 400, "alerts[0].status: required"},
		{escalation.Errorf(escalation.CodeTooLarge, "too big"), 413, "too big"},
		{escalation.Errorf(escalation.CodeInternal, "disk /var/lib/klaxon full"), 500, `"internal error"`},
		{errString("bolt: tx closed"), 500, `"internal error"`},
	} {
		rec := httptest.NewRecorder()
		Error(rec, httptest.NewRequest(http.MethodGet, "/x", nil), slog.New(slog.DiscardHandler), tt.err)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("%v → %d %s", tt.err, rec.Code, rec.Body)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestReadBodyLimit(t *testing.T) {
	rec := httptest.NewRecorder()
	_, err := ReadBody(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 11))), 10)
	if escalation.ErrorCode(err) != escalation.CodeTooLarge {
		t.Fatalf("11 bytes over a 10-byte limit: %v", err)
	}
	b, err := ReadBody(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("0123456789")), 10)
	if err != nil || len(b) != 10 {
		t.Fatalf("exactly the limit: %q %v", b, err)
	}
}

// A body is read whole whether or not its length was announced, within the
// limit either way.
func TestReadBodyWithAndWithoutContentLength(t *testing.T) {
	want := strings.Repeat("0123456789", 500)
	for _, announced := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(want))
		if !announced {
			req.ContentLength = -1 // chunked
		}
		b, err := ReadBody(httptest.NewRecorder(), req, 1<<20)
		if err != nil || string(b) != want {
			t.Errorf("announced %v: read %d bytes, %v; want %d", announced, len(b), err, len(want))
		}
		req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(want))
		if !announced {
			req.ContentLength = -1
		}
		if _, err := ReadBody(httptest.NewRecorder(), req, 4999); escalation.ErrorCode(err) != escalation.CodeTooLarge {
			t.Errorf("announced %v: 5000 bytes over a 4999-byte limit: %v", announced, err)
		}
	}
}

func TestTokenEqual(t *testing.T) {
	if TokenEqual("", "") || TokenEqual("a", "") || !TokenEqual("abc", "abc") || TokenEqual("abc", "abd") {
		t.Fatal("TokenEqual is wrong")
	}
}

// appender writes its own JSON when ok, and leaves it to the encoder when not.
type appender struct{ ok bool }

func (a appender) AppendJSON(b []byte) ([]byte, bool) { return append(b, "{\"own\":true}\n"...), a.ok }

func TestJSONTakesAReplysOwnEncoding(t *testing.T) {
	for _, tc := range []struct {
		v    appender
		want string
	}{{appender{ok: true}, "{\"own\":true}\n"}, {appender{ok: false}, "{}\n"}} {
		rec := httptest.NewRecorder()
		JSON(rec, http.StatusCreated, tc.v)
		if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" || rec.Body.String() != tc.want {
			t.Errorf("%+v: %d %q %q; want 201, JSON, %q", tc.v, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tc.want)
		}
	}
}

// A reply JSON cannot encode is a 500 saying so, not a 200 with nothing.
func TestJSONThatCannotBeEncodedIsA500(t *testing.T) {
	rec := httptest.NewRecorder()
	JSON(rec, http.StatusOK, map[string]any{"at": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("%d %q; want a 500 with an error", rec.Code, rec.Body.String())
	}
}
