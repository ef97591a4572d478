package smsgateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	// testSecret has characters that query, path and JSON escaping each
	// change; its core "Kx9Qm2" survives every escaping, so finding the core
	// anywhere means some form of the secret leaked.
	testSecret = `Kx9Qm2/+=&"vT7`
	secretCore = "Kx9Qm2"
	testTo     = "+15558675310"
)

func testPage() escalation.Page {
	return escalation.Page{ID: 7, IncidentID: 42, Person: "alice", Channel: escalation.ChannelSMS,
		Address: testTo, Text: `[P1] #42 HighErrorRate on checkout-api. Reply "ack 42".`}
}

// received is one request as the fake gateway saw it.
type received struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

// reply is what the fake gateway answers.
type reply struct {
	status int
	header map[string]string
	body   string
	// echo answers with the request as received, as a careless gateway's
	// error page does.
	echo bool
}

// fakeGateway is an SMS gateway on httptest: it hands every request it
// receives to the test and answers with rep.
func fakeGateway(t *testing.T, rep reply) (*httptest.Server, <-chan received) {
	t.Helper()
	reqs := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request: %v", err)
		}
		reqs <- received{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: body}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		if rep.echo {
			fmt.Fprintf(w, "%s %s Authorization: %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), body)
			return
		}
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// lastRequest takes the request the gateway received; Send has returned, so
// it is already there.
func lastRequest(t *testing.T, reqs <-chan received) received {
	t.Helper()
	select {
	case r := <-reqs:
		return r
	default:
		t.Fatal("the gateway received no request")
		return received{}
	}
}

func newGateway(t *testing.T, o Options) *Gateway {
	t.Helper()
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// jsonGateway is the usual modern SMS API: a bearer token and a JSON body.
func jsonGateway(srv *httptest.Server) Options {
	return Options{
		Name: "gateway",
		URL:  srv.URL + "/v1/messages",
		Headers: map[string]string{
			"Authorization":   "Bearer {{.Secret}}",
			"Idempotency-Key": "{{.ID}}",
		},
		Body:        `{"to": {{.To | json}}, "text": {{.Text | json}}, "id": {{.ID | json}}}`,
		ContentType: "application/json",
		Secret:      testSecret,
		HTTPClient:  srv.Client(),
	}
}

// formGateway is the classic SMS API: a form POST with the key in it.
func formGateway(srv *httptest.Server) Options {
	return Options{
		Name:        "gateway",
		URL:         srv.URL + "/sms/json",
		Body:        "api_key={{.Secret | form}}&to={{.To | form}}&text={{.Text | form}}&client-ref={{.ID | form}}",
		ContentType: "application/x-www-form-urlencoded",
		Secret:      testSecret,
		HTTPClient:  srv.Client(),
	}
}

// queryGateway is the oldest kind: a GET with everything in the query.
func queryGateway(srv *httptest.Server) Options {
	return Options{
		Name:       "gateway",
		Method:     "get",
		URL:        srv.URL + "/api/send?key={{.Secret | urlquery}}&to={{.To | urlquery}}&msg={{.Text | urlquery}}&ref={{.ID | urlquery}}",
		Secret:     testSecret,
		HTTPClient: srv.Client(),
	}
}

// transportHeaders are the headers Go's client adds on its own.
var transportHeaders = map[string]bool{"User-Agent": true, "Accept-Encoding": true, "Content-Length": true}

func TestSendJSON(t *testing.T) {
	srv, reqs := fakeGateway(t, reply{status: http.StatusAccepted, body: `{"queued": true}`})
	g := newGateway(t, jsonGateway(srv))

	d, err := g.Send(t.Context(), testPage())
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider != "gateway" || d.ProviderID != "" || d.Failed != nil {
		t.Errorf("delivery = %+v", d)
	}
	r := lastRequest(t, reqs)
	if r.method != http.MethodPost || r.path != "/v1/messages" || len(r.query) != 0 {
		t.Errorf("request = %s %s?%s", r.method, r.path, r.query.Encode())
	}
	wantHeader := map[string]string{
		"Authorization":   "Bearer " + testSecret,
		"Idempotency-Key": "klaxon-page-7",
		"Content-Type":    "application/json",
	}
	for k, v := range wantHeader {
		if got := r.header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for k := range r.header {
		if _, ok := wantHeader[k]; !ok && !transportHeaders[k] {
			t.Errorf("unexpected header %s: %q", k, r.header.Values(k))
		}
	}
	want := `{"to": "+15558675310", "text": "[P1] #42 HighErrorRate on checkout-api. Reply \"ack 42\".", "id": "klaxon-page-7"}`
	if string(r.body) != want {
		t.Errorf("body\n got %s\nwant %s", r.body, want)
	}
}

func TestSendForm(t *testing.T) {
	srv, reqs := fakeGateway(t, reply{status: http.StatusOK, body: `{"messages": [{"status": "0"}]}`})
	g := newGateway(t, formGateway(srv))

	if _, err := g.Send(t.Context(), testPage()); err != nil {
		t.Fatal(err)
	}
	r := lastRequest(t, reqs)
	if r.method != http.MethodPost || r.path != "/sms/json" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("content type = %q", ct)
	}
	form, err := url.ParseQuery(string(r.body))
	if err != nil {
		t.Fatalf("body is not a form: %v", err)
	}
	want := url.Values{
		"api_key":    {testSecret},
		"to":         {testTo},
		"text":       {testPage().Text},
		"client-ref": {"klaxon-page-7"},
	}
	if form.Encode() != want.Encode() {
		t.Errorf("form\n got %s\nwant %s", form.Encode(), want.Encode())
	}
}

func TestSendGETWithQuery(t *testing.T) {
	srv, reqs := fakeGateway(t, reply{status: http.StatusOK, body: "OK"})
	g := newGateway(t, queryGateway(srv))

	if _, err := g.Send(t.Context(), testPage()); err != nil {
		t.Fatal(err)
	}
	r := lastRequest(t, reqs)
	if r.method != http.MethodGet || r.path != "/api/send" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	want := url.Values{"key": {testSecret}, "to": {testTo}, "msg": {testPage().Text}, "ref": {"klaxon-page-7"}}
	if r.query.Encode() != want.Encode() {
		t.Errorf("query\n got %s\nwant %s", r.query.Encode(), want.Encode())
	}
	if len(r.body) != 0 || r.header.Get("Content-Type") != "" {
		t.Errorf("a GET carries body %q, content type %q", r.body, r.header.Get("Content-Type"))
	}
}

func TestSendRecordsTheMessageID(t *testing.T) {
	cases := []struct {
		name, idPath, body, want string
	}{
		{"id in an array", "messages.0.message-id",
			`{"message-count": "1", "messages": [{"to": "15558675310", "message-id": "0A0000000123ABCD1", "status": "0"}]}`,
			"0A0000000123ABCD1"},
		{"numeric id", "data.id", `{"data": {"id": 123456789012345678}}`, "123456789012345678"},
		{"top-level id", "sid", `{"sid": "SM123", "status": "queued"}`, "SM123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeGateway(t, reply{status: http.StatusCreated, body: tc.body})
			o := jsonGateway(srv)
			o.IDPath = tc.idPath
			d, err := newGateway(t, o).Send(t.Context(), testPage())
			if err != nil {
				t.Fatal(err)
			}
			if d.Provider != "gateway" || d.ProviderID != tc.want || d.Failed != nil {
				t.Errorf("delivery = %+v, want provider ID %s", d, tc.want)
			}
		})
	}
}

// A gateway that answers 200 to a failure is caught only by a missing id;
// the page then fails for good, so the next contact rule pages the person.
func TestSendSuccessStatusWithoutIDFailsThePage(t *testing.T) {
	cases := []struct {
		name, idPath, body, wantErr string
	}{
		{"failure in a 200", "message_id", `{"success": false, "error": "Invalid destination number"}`,
			`gateway: page 7: HTTP 200 without a message id at message_id: {"success": false, "error": "Invalid destination number"}`},
		{"empty array", "messages.0.id", `{"messages": []}`, "HTTP 200 without a message id at messages.0.id"},
		{"object where an array was", "messages.0.id", `{"messages": {"id": "x"}}`, "without a message id at messages.0.id"},
		{"null id", "id", `{"id": null}`, "without a message id at id"},
		{"empty id", "id", `{"id": ""}`, "without a message id at id"},
		{"not JSON", "id", "OK", "gateway: page 7: HTTP 200 without a message id at id: OK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeGateway(t, reply{status: http.StatusOK, body: tc.body})
			o := jsonGateway(srv)
			o.IDPath = tc.idPath
			_, err := newGateway(t, o).Send(t.Context(), testPage())
			if !escalation.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	cases := []struct {
		name       string
		success    []int
		reply      reply
		permanent  bool
		wantErr    string
		retryAfter time.Duration
	}{
		{name: "500", reply: reply{status: 500, body: `{"error": "internal"}`},
			wantErr: `gateway: page 7: HTTP 500 Internal Server Error: {"error": "internal"}`},
		{name: "502 from a proxy", reply: reply{status: 502, body: "<html>\n<body>Bad Gateway</body>\n</html>\n"},
			wantErr: `HTTP 502 Bad Gateway: <html> <body>Bad Gateway</body> </html>`},
		{name: "503 in maintenance", reply: reply{status: 503, header: map[string]string{"Retry-After": "120"}},
			wantErr: "HTTP 503 Service Unavailable; retry after 2m0s", retryAfter: 2 * time.Minute},
		{name: "408", reply: reply{status: 408}, wantErr: "HTTP 408 Request Timeout"},
		{name: "429 with Retry-After seconds", reply: reply{status: 429, header: map[string]string{"Retry-After": "30"},
			body: `{"error": "rate limited"}`},
			wantErr: `HTTP 429 Too Many Requests: {"error": "rate limited"}; retry after 30s`, retryAfter: 30 * time.Second},
		{name: "429 with Retry-After date", reply: reply{status: 429, header: map[string]string{
			"Date": "Tue, 15 Nov 1994 08:12:31 GMT", "Retry-After": "Tue, 15 Nov 1994 08:14:01 GMT"}},
			wantErr: "HTTP 429 Too Many Requests; retry after 1m30s", retryAfter: 90 * time.Second},
		{name: "429 without Retry-After", reply: reply{status: 429}, wantErr: "gateway: page 7: HTTP 429 Too Many Requests"},
		{name: "429 with a Retry-After that is neither", reply: reply{status: 429, header: map[string]string{"Retry-After": "soon"}},
			wantErr: "gateway: page 7: HTTP 429 Too Many Requests"},
		{name: "400 bad number", reply: reply{status: 400, body: `{"error": "invalid 'to' number"}`}, permanent: true,
			wantErr: `gateway: page 7: HTTP 400 Bad Request: {"error": "invalid 'to' number"}`},
		{name: "401 wrong key", reply: reply{status: 401}, permanent: true, wantErr: "HTTP 401 Unauthorized"},
		{name: "404 wrong url", reply: reply{status: 404, body: "404 page not found\n"}, permanent: true,
			wantErr: "HTTP 404 Not Found: 404 page not found"},
		{name: "302 is not followed", reply: reply{status: 302, header: map[string]string{"Location": "/v2/messages"}}, permanent: true,
			wantErr: "HTTP 302 Found: redirects are not followed; set url to where the gateway redirects"},
		{name: "2xx outside success_status", success: []int{200}, reply: reply{status: 201}, permanent: true,
			wantErr: "HTTP 201 Created: not in success_status [200]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, reqs := fakeGateway(t, tc.reply)
			o := jsonGateway(srv)
			o.SuccessStatus = tc.success
			d, err := newGateway(t, o).Send(t.Context(), testPage())
			if err == nil {
				t.Fatalf("no error, delivery %+v", d)
			}
			if got := escalation.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tc.reply.status {
				t.Errorf("err = %#v, want a *StatusError with status %d", err, tc.reply.status)
			}
			if got, ok := RetryAfter(err); got != tc.retryAfter || ok != (tc.retryAfter > 0) {
				t.Errorf("RetryAfter = %s, %v, want %s", got, ok, tc.retryAfter)
			}
			lastRequest(t, reqs)
			if len(reqs) != 0 {
				t.Errorf("the gateway got %d more requests", len(reqs))
			}
		})
	}
}

// The start of an error reply goes into the error; the secret in it is
// redacted before the cut, so no part of it survives at the edge.
func TestErrorDetailIsCutAfterRedacting(t *testing.T) {
	body := strings.Repeat("x", maxDetail-len(secretCore)) + testSecret + strings.Repeat("y", 1000)
	srv, _ := fakeGateway(t, reply{status: 500, body: body})
	_, err := newGateway(t, jsonGateway(srv)).Send(t.Context(), testPage())
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StatusError", err)
	}
	if strings.Contains(se.Detail, secretCore) || strings.Contains(se.Detail, "y") {
		t.Errorf("detail = %q", se.Detail)
	}
	if n := utf8.RuneCountInString(se.Detail); n != maxDetail+1 || !strings.HasSuffix(se.Detail, "…") {
		t.Errorf("detail is %d runes: ...%q", n, se.Detail[len(se.Detail)-20:])
	}
}

// Should any error text carry the secret, Send redacts it and keeps the
// cause, so a permanent failure still reads as permanent.
func TestRedactKeepsTheCause(t *testing.T) {
	g := newGateway(t, Options{URL: "https://sms.example.com/send", Secret: testSecret})
	cause := errors.New("dial tcp: lookup " + testSecret)
	err := g.redact(escalation.Permanent(fmt.Errorf("gateway: page 7: %w", cause)))
	if err.Error() != "gateway: page 7: dial tcp: lookup [REDACTED]" {
		t.Errorf("err = %q", err)
	}
	if !escalation.IsPermanent(err) || !errors.Is(err, cause) {
		t.Errorf("redacting lost the cause: %#v", err)
	}
	if plain := errors.New("no secret here"); g.redact(plain) != plain {
		t.Error("an error without the secret was rewrapped")
	}
}

func TestSendAcceptsListedSuccessStatus(t *testing.T) {
	srv, _ := fakeGateway(t, reply{status: http.StatusAccepted})
	o := jsonGateway(srv)
	for _, success := range [][]int{{200, 202}, {}} { // an empty list is the default
		o.SuccessStatus = success
		if _, err := newGateway(t, o).Send(t.Context(), testPage()); err != nil {
			t.Fatalf("success_status %v: %v", success, err)
		}
	}
}

func TestSendTimesOutOnASlowGateway(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // cleanups run last first: release, then close
	o := jsonGateway(srv)
	o.Timeout = 20 * time.Millisecond

	_, err := newGateway(t, o).Send(t.Context(), testPage())
	if err == nil || escalation.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	want := fmt.Sprintf("gateway: page 7: POST %s: no answer within 20ms", srv.Listener.Addr())
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want it to start %q", err, want)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	o := jsonGateway(srv)
	srv.Close() // nothing listens there now
	_, err := newGateway(t, o).Send(t.Context(), testPage())
	if err == nil || escalation.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestSendNoAddress(t *testing.T) {
	srv, reqs := fakeGateway(t, reply{status: http.StatusOK})
	p := testPage()
	p.Address = ""
	_, err := newGateway(t, jsonGateway(srv)).Send(t.Context(), p)
	if !escalation.IsPermanent(err) || err.Error() != "gateway: page 7 has no address" {
		t.Errorf("err = %v, want permanent", err)
	}
	if len(reqs) != 0 {
		t.Error("request sent without an address")
	}
}

// awkwardTexts are page texts that break naive templating.
var awkwardTexts = []string{
	`Disk "db-1" at 95%, said 'ops'`,
	"line one\nline two\r\n\ttabbed",
	"Ünïcödé ✓ 日本語 😀 \u2028\u2029",
	"}} {{.Secret}} {{ end }}",
	`back\slash & a=b + c%20d ?x #frag ; <script>`,
	"",
}

func TestAwkwardTextRoundTrips(t *testing.T) {
	srv, reqs := fakeGateway(t, reply{status: http.StatusOK})
	gateways := []struct {
		name string
		opts Options
		// decode reads what the gateway received as to, text and id.
		decode func(r received) (to, text, id string, err error)
	}{
		{"json", jsonGateway(srv), func(r received) (string, string, string, error) {
			var m struct{ To, Text, ID string }
			err := json.Unmarshal(r.body, &m)
			return m.To, m.Text, m.ID, err
		}},
		{"form", formGateway(srv), func(r received) (string, string, string, error) {
			f, err := url.ParseQuery(string(r.body))
			return f.Get("to"), f.Get("text"), f.Get("client-ref"), err
		}},
		{"urlquery", queryGateway(srv), func(r received) (string, string, string, error) {
			return r.query.Get("to"), r.query.Get("msg"), r.query.Get("ref"), nil
		}},
	}
	for _, gw := range gateways {
		g := newGateway(t, gw.opts)
		for _, text := range awkwardTexts {
			p := testPage()
			p.Text = text
			if _, err := g.Send(t.Context(), p); err != nil {
				t.Fatalf("%s: %q: %v", gw.name, text, err)
			}
			to, got, id, err := gw.decode(lastRequest(t, reqs))
			if err != nil {
				t.Fatalf("%s: %q: gateway cannot decode the request: %v", gw.name, text, err)
			}
			if got != text || to != testTo || id != "klaxon-page-7" {
				t.Errorf("%s: got text %q to %q id %q, want text %q", gw.name, got, to, id, text)
			}
		}
	}
}

// Gateways answer errors with whatever they like, some with the request
// itself. The secret travels in a header, the URL and the body; no error
// and no log line may show any form of it.
func TestSecretNeverInErrorsOrLogs(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	leaky := func(base string) Options {
		return Options{
			Name:        "gateway",
			URL:         base + "/send?key={{.Secret | urlquery}}&to={{.To | urlquery}}",
			Headers:     map[string]string{"Authorization": "Bearer {{.Secret}}"},
			Body:        `{"key": {{.Secret | json}}, "to": {{.To | json}}, "text": {{.Text | json}}}`,
			ContentType: "application/json",
			Secret:      testSecret,
			Logger:      logger,
		}
	}
	echoing := func(status int, header map[string]string) func(t *testing.T) Options {
		return func(t *testing.T) Options {
			srv, _ := fakeGateway(t, reply{status: status, header: header, echo: true})
			return leaky(srv.URL)
		}
	}
	cases := []struct {
		name string
		opts func(t *testing.T) Options
		page func(p *escalation.Page)
		ctx  func(t *testing.T) context.Context
		// echoed: the reply quotes the request, so the error must show the
		// secret redacted in the header, URL and body.
		echoed bool
	}{
		{name: "500 echoing the request", opts: echoing(500, nil), echoed: true},
		{name: "400 echoing the request", opts: echoing(400, nil), echoed: true},
		{name: "429 echoing the request", opts: echoing(429, map[string]string{"Retry-After": "5"}), echoed: true},
		{name: "302 to a URL with the secret",
			opts: echoing(302, map[string]string{"Location": "/elsewhere?key=" + url.QueryEscape(testSecret)})},
		{name: "200 echoing the request without an id", echoed: true, opts: func(t *testing.T) Options {
			o := echoing(200, nil)(t)
			o.IDPath = "id"
			return o
		}},
		{name: "connection refused", opts: func(t *testing.T) Options {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return leaky(srv.URL)
		}},
		{name: "timeout", opts: func(t *testing.T) Options {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) })
			o := leaky(srv.URL)
			o.Timeout = 10 * time.Millisecond
			return o
		}},
		{name: "cancelled", opts: echoing(200, nil), ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}},
		{name: "URL invalid for this page", page: func(p *escalation.Page) { p.Address = "+1555\n8675310" },
			opts: func(t *testing.T) Options {
				o := echoing(200, nil)(t)
				o.URL = strings.Replace(o.URL, "/send?", "/send/{{.To}}?", 1)
				return o
			}},
		{name: "header invalid for this page", page: func(p *escalation.Page) { p.Address = "+1555\r\n8675310" },
			opts: func(t *testing.T) Options {
				o := echoing(200, nil)(t)
				o.Headers["X-Key-For"] = "{{.Secret}} {{.To}}"
				return o
			}},
		{name: "body template fails for this page", page: func(p *escalation.Page) { p.Text = "short" },
			opts: func(t *testing.T) Options {
				o := echoing(200, nil)(t)
				o.Body = `{"key": {{.Secret | json}}, "head": {{slice .Text 0 40 | json}}}`
				return o
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testPage()
			p.Text = "disk full"
			if tc.page != nil {
				tc.page(&p)
			}
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			_, err := newGateway(t, tc.opts(t)).Send(ctx, p)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secretCore) {
				t.Errorf("error leaks the secret: %v", err)
			}
			if n := strings.Count(err.Error(), redacted); tc.echoed && n != 3 {
				t.Errorf("error shows the secret redacted %d times, want 3 (header, URL, body): %v", n, err)
			}
		})
	}
	if !strings.Contains(logs.String(), "sms gateway answered") {
		t.Errorf("no replies logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secretCore) {
		t.Errorf("logs leak the secret:\n%s", logs.String())
	}
}

func TestNewRejectsBrokenConfig(t *testing.T) {
	valid := func() Options {
		return Options{Name: "gateway", URL: "https://sms.example.com/send",
			Headers: map[string]string{"Authorization": "Bearer {{.Secret}}"},
			Body:    `{"to": {{.To | json}}, "text": {{.Text | json}}}`, ContentType: "application/json", Secret: testSecret}
	}
	if _, err := New(valid()); err != nil {
		t.Fatalf("the valid config is rejected: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(o *Options)
		wants []string
	}{
		{"url template unclosed", func(o *Options) { o.URL = "https://sms.example.com/send?to={{.To | urlquery}" },
			[]string{"gateway: url: template: url:1: bad character"}},
		{"unknown function in body", func(o *Options) { o.Body = `{"to": {{.To | jsn}}}` },
			[]string{`gateway: body: template: body:1: function "jsn" not defined`}},
		{"unknown field in body", func(o *Options) { o.Body = `{"to": {{.Phone | json}}}` },
			[]string{"gateway: body: template: body:1:", "can't evaluate field Phone"}},
		{"text not escaped in a JSON body", func(o *Options) { o.Body = `{"text": "{{.Text}}"}` },
			[]string{"gateway: body: renders invalid JSON", "{{.Text | json}}"}},
		{"voice branch not escaped", func(o *Options) {
			o.Body = `{"to": {{.To | json}}{{if eq .Channel "voice"}}, "tts": {{.Text}}{{end}}}`
		}, []string{"gateway: body: renders invalid JSON"}},
		{"header template unclosed", func(o *Options) { o.Headers["Authorization"] = "Bearer {{.Secret" },
			[]string{"gateway: headers.Authorization: template: headers.Authorization:1:"}},
		{"no url", func(o *Options) { o.URL = " " }, []string{"gateway: url: required"}},
		{"relative url", func(o *Options) { o.URL = "/send" }, []string{"gateway: url: renders no absolute http or https URL"}},
		{"credentials in the url", func(o *Options) { o.URL = "https://klaxon:{{.Secret | urlquery}}@sms.example.com/send" },
			[]string{"gateway: url: renders a user name or password; send credentials in a header"}},
		{"method with a space", func(o *Options) { o.Method = "SEND NOW" }, []string{`gateway: method: "SEND NOW" is not an HTTP method`}},
		{"body without a content type", func(o *Options) { o.ContentType = "" },
			[]string{"gateway: content_type: required when body is set"}},
		{"content type twice", func(o *Options) { o.Headers["content-type"] = "application/json" },
			[]string{"gateway: headers.content-type: content_type is set too; use one"}},
		{"not a media type", func(o *Options) { o.ContentType = "json please" }, []string{`gateway: content_type: "json please" is not a media type`}},
		{"host header", func(o *Options) { o.Headers["Host"] = "sms.example.com" }, []string{"gateway: headers.Host: set by Klaxon"}},
		{"same header twice", func(o *Options) { o.Headers["authorization"] = "Basic x" },
			[]string{"gateway: headers.authorization: same header as headers.Authorization"}},
		{"header name with a space", func(o *Options) { o.Headers["X Key"] = "v" }, []string{"gateway: headers.X Key: not a valid header name"}},
		{"success status not a success", func(o *Options) { o.SuccessStatus = []int{200, 404} },
			[]string{"gateway: success_status: 404 is not a 2xx or 3xx status"}},
		{"empty id path segment", func(o *Options) { o.IDPath = "messages..id" }, []string{`gateway: id_path: "messages..id" has an empty segment`}},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, []string{"gateway: timeout: -1s is negative"}},
		{"every problem at once", func(o *Options) { o.URL, o.Method = "", "A B" },
			[]string{"gateway: url: required", "gateway: method:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(&o)
			g, err := New(o)
			if err == nil {
				t.Fatalf("accepted: %+v", g)
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), secretCore) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	client := &http.Client{}
	g := newGateway(t, Options{URL: "https://sms.example.com/send", HTTPClient: client})
	if g.name != "smsgateway" || g.method != http.MethodPost || g.timeout != 15*time.Second {
		t.Errorf("name %q, method %q, timeout %s", g.name, g.method, g.timeout)
	}
	if g.http.CheckRedirect == nil {
		t.Error("redirects would be followed")
	}
	if client.CheckRedirect != nil {
		t.Error("New changed the caller's HTTP client")
	}
}

// roundTripFunc answers requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func FuzzJSONBody(f *testing.F) {
	for _, text := range awkwardTexts {
		f.Add(testTo, text)
	}
	f.Add("+1\"555\"\n", "\xff\xfe invalid UTF-8 \xc3")
	f.Fuzz(func(t *testing.T, to, text string) {
		var sent []byte
		o := Options{
			Name:        "gateway",
			URL:         "https://sms.example.com/send",
			Body:        `{"to": {{.To | json}}, "text": {{.Text | json}}, "id": {{.ID | json}}}`,
			ContentType: "application/json",
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent, _ = io.ReadAll(r.Body)
				return &http.Response{StatusCode: http.StatusCreated, Header: http.Header{},
					Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
			})},
		}
		p := testPage()
		p.Address, p.Text = to, text
		_, err := newGateway(t, o).Send(t.Context(), p)
		if to == "" {
			if !escalation.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent for a page without an address", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ To, Text, ID string }
		if err := json.Unmarshal(sent, &got); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, sent)
		}
		if utf8.ValidString(to) && utf8.ValidString(text) && (got.To != to || got.Text != text) {
			t.Errorf("got to %q text %q, want %q %q", got.To, got.Text, to, text)
		}
	})
}
