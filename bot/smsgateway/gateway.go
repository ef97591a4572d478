// Package smsgateway pages through any HTTP SMS or voice gateway, described
// by templates for the request's URL, headers and body, so that paging does
// not depend on a single provider.
//
// What a gateway answers is read generically, and SuccessStatus and IDPath
// are the whole contract: a status in SuccessStatus (any 2xx by default)
// means the gateway took the page, and the body is only consulted for the
// message id at IDPath. Klaxon cannot know that a gateway which answers 200
// to a failure meant failure, unless IDPath is set: then a success reply
// without an id there fails the page for good, so the person's next contact
// rule pages them rather than nobody.
package smsgateway

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	defaultName    = "smsgateway"
	defaultTimeout = 15 * time.Second
	// maxResponse bounds what is read of a reply; SMS APIs answer in a few
	// KiB.
	maxResponse = 64 << 10
	// maxDetail bounds how much of an error reply goes into the error, which
	// the incident's timeline shows.
	maxDetail = 200
	redacted  = "[REDACTED]"
)

// Options describe a gateway. URL, header values and Body are text/template
// templates over the page:
//
//	.To       the address (phone number) to page
//	.Text     the page's text, never shortened (gateways differ in limits)
//	.ID       the page's idempotency key, stable across retries
//	.Channel  "sms" or "voice"
//	.Person   the name of the person paged
//	.Secret   Options.Secret
//
// with these functions for escaping values: json (a JSON value, quotes
// included), urlquery and form (query and form-body escaping, which are the
// same), and base64 (for Basic credentials). The rendered URL and header
// values are trimmed of surrounding space: YAML block scalars end in a
// newline.
type Options struct {
	// Name is the provider recorded on the timeline and in logs; it
	// defaults to "smsgateway".
	Name string
	// URL is required and must render an absolute http or https URL
	// without credentials, e.g.
	// https://sms.example.com/send?to={{.To | urlquery}}.
	URL string
	// Method defaults to POST.
	Method string
	// Headers maps header names to value templates, e.g.
	// "Authorization": "Bearer {{.Secret}}".
	Headers map[string]string
	// Body is the request body template, e.g.
	// {"to": {{.To | json}}, "text": {{.Text | json}}}. Empty sends none.
	Body string
	// ContentType is the body's media type; a body needs it (here or in
	// Headers). A JSON type makes New check that Body renders valid JSON.
	ContentType string
	// Secret is the gateway credential. Templates read it as .Secret; it is
	// redacted from every error and never logged. A credential written
	// into a template itself is not redacted: keep credentials here.
	Secret string
	// SuccessStatus lists the statuses that mean the gateway took the page
	// (200 to 399); empty means any 2xx.
	SuccessStatus []int
	// IDPath is the dotted path of the gateway's message id in a JSON reply,
	// numbers indexing arrays: "messages.0.id". Empty records no id.
	IDPath string
	// Timeout bounds each request; it defaults to 15s.
	Timeout time.Duration
	// HTTPClient defaults to a new client. Redirects are never followed: a
	// 301, 302 or 303 would turn the POST into a GET and lose the message.
	HTTPClient *http.Client
	// Logger receives a debug line per reply; it defaults to discarding.
	Logger *slog.Logger
}

// Gateway sends pages through an HTTP gateway. It implements
// escalation.Pager and is safe for concurrent use.
type Gateway struct {
	name        string
	method      string
	url         *template.Template
	headers     []header
	body        *template.Template // nil: no body
	contentType string
	secret      string
	success     []int // nil: any 2xx
	idPath      []string
	timeout     time.Duration
	http        *http.Client
	log         *slog.Logger
	redactor    *strings.Replacer
}

type header struct {
	name  string
	value *template.Template
}

var _ escalation.Pager = (*Gateway)(nil)

// pageData is what the templates see.
type pageData struct {
	To, Text, ID, Channel, Person, Secret string
}

// New checks the options and builds a Gateway. Every template is parsed and
// rendered for a probe page up front, so a broken one is a config error
// naming its field rather than a failed page at 3am.
func New(o Options) (*Gateway, error) {
	g := &Gateway{
		name:        cmp.Or(strings.TrimSpace(o.Name), defaultName),
		method:      cmp.Or(strings.ToUpper(strings.TrimSpace(o.Method)), http.MethodPost),
		contentType: strings.TrimSpace(o.ContentType),
		secret:      o.Secret,
		timeout:     cmp.Or(o.Timeout, defaultTimeout),
		log:         o.Logger,
		redactor:    newRedactor(o.Secret),
	}
	var errs []error
	problem := func(field string, err error) {
		errs = append(errs, fmt.Errorf("%s: %s: %w", g.name, field, err))
	}
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"urlquery": url.QueryEscape,
		"form":     url.QueryEscape,
		"base64":   func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	}
	parse := func(field, text string) *template.Template {
		t, err := template.New(field).Funcs(funcs).Parse(text)
		if err != nil {
			problem(field, err)
		}
		return t
	}

	if strings.TrimSpace(o.URL) == "" {
		problem("url", errors.New("required"))
	} else {
		g.url = parse("url", o.URL)
	}
	if !isToken(g.method) {
		problem("method", fmt.Errorf("%q is not an HTTP method", g.method))
	}

	headerType := false
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(o.Headers)) { // problems in a stable order
		field := "headers." + name
		canon := http.CanonicalHeaderKey(strings.TrimSpace(name))
		switch {
		case !isToken(canon):
			problem(field, errors.New("not a valid header name"))
			continue
		case canon == "Host" || canon == "Content-Length":
			problem(field, errors.New("set by Klaxon from url and body"))
			continue
		case seen[canon] != "":
			problem(field, fmt.Errorf("same header as headers.%s", seen[canon]))
			continue
		case canon == "Content-Type":
			headerType = true
			if g.contentType != "" {
				problem(field, errors.New("content_type is set too; use one"))
				continue
			}
		}
		seen[canon] = name
		g.headers = append(g.headers, header{name: canon, value: parse(field, o.Headers[name])})
	}

	if o.Body != "" {
		g.body = parse("body", o.Body)
		if g.contentType == "" && !headerType {
			problem("content_type", errors.New("required when body is set"))
		}
	}
	if g.contentType != "" {
		if _, _, err := mime.ParseMediaType(g.contentType); err != nil {
			problem("content_type", fmt.Errorf("%q is not a media type", g.contentType))
		}
	}
	for _, s := range o.SuccessStatus {
		if s < 200 || s > 399 {
			problem("success_status", fmt.Errorf("%d is not a 2xx or 3xx status", s))
		}
	}
	if len(o.SuccessStatus) > 0 {
		g.success = slices.Clone(o.SuccessStatus)
	}
	if o.IDPath != "" {
		g.idPath = strings.Split(o.IDPath, ".")
		if slices.Contains(g.idPath, "") {
			problem("id_path", fmt.Errorf("%q has an empty segment", o.IDPath))
		}
	}
	if o.Timeout < 0 {
		problem("timeout", fmt.Errorf("%s is negative", o.Timeout))
	}

	client := o.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	g.http = &c
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}

	if len(errs) == 0 {
		for _, ch := range []escalation.Channel{escalation.ChannelSMS, escalation.ChannelVoice} {
			if err := g.probe(probePage(ch)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", g.name, err))
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, g.redact(err)
	}
	return g, nil
}

// probePage is rendered by New. Its text has quotes, a backslash, a newline
// and braces: a JSON body that does not escape the text breaks on it.
func probePage(ch escalation.Channel) escalation.Page {
	return escalation.Page{ID: 1, Person: "probe", Channel: ch, Address: "+15555550100",
		Text: "Klaxon \"probe\" page \\ {{ }}\nsecond line é 😀"}
}

// probe renders p and checks what only a rendering can show.
func (g *Gateway) probe(p escalation.Page) error {
	req, err := g.request(context.Background(), p)
	if err != nil {
		return err
	}
	if req.Body == nil {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if !json.Valid(body) {
		return errors.New(`body: renders invalid JSON for a text with quotes and a newline; write values as {{.Text | json}}`)
	}
	return nil
}

// request renders the HTTP request for p. Its errors never quote what was
// rendered: that holds the page and may hold the secret.
func (g *Gateway) request(ctx context.Context, p escalation.Page) (*http.Request, error) {
	data := pageData{To: p.Address, Text: p.Text, ID: p.IdempotencyKey(),
		Channel: string(p.Channel), Person: p.Person, Secret: g.secret}
	raw, err := execute(g.url, data)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return nil, errors.New("url: renders an invalid URL")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, errors.New("url: renders no absolute http or https URL")
	case u.User != nil:
		return nil, errors.New("url: renders a user name or password; send credentials in a header")
	}
	var body io.Reader
	if g.body != nil {
		b, err := execute(g.body, data)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, g.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	for _, h := range g.headers {
		v, err := execute(h.value, data)
		if err != nil {
			return nil, fmt.Errorf("headers.%s: %w", h.name, err)
		}
		v = strings.TrimSpace(v)
		if strings.ContainsFunc(v, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) {
			return nil, fmt.Errorf("headers.%s: renders a line break or control character", h.name)
		}
		req.Header.Set(h.name, v)
	}
	if g.contentType != "" {
		req.Header.Set("Content-Type", g.contentType)
	}
	return req, nil
}

func execute(t *template.Template, data pageData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Send delivers a page. Failures retrying cannot fix (a page the templates
// cannot render, a 4xx other than 408 and 429, a redirect, a success reply
// without the id at IDPath) are escalation.Permanent; timeouts, connection
// errors, 408, 429 and 5xx are not.
func (g *Gateway) Send(ctx context.Context, p escalation.Page) (escalation.Delivery, error) {
	d, err := g.send(ctx, p)
	if err != nil {
		return escalation.Delivery{}, g.redact(err)
	}
	return d, nil
}

func (g *Gateway) send(parent context.Context, p escalation.Page) (escalation.Delivery, error) {
	if p.Address == "" {
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("%s: page %d has no address", g.name, p.ID))
	}
	ctx, cancel := context.WithTimeout(parent, g.timeout)
	defer cancel()
	req, err := g.request(ctx, p)
	if err != nil {
		// The same page renders the same way on every attempt.
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("%s: page %d: %w", g.name, p.ID, err))
	}
	resp, err := g.http.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which carries the page and may carry
		// the secret: name only the host.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return escalation.Delivery{}, fmt.Errorf("%s: page %d: %s %s: no answer within %s: %w",
				g.name, p.ID, req.Method, req.URL.Host, g.timeout, ctx.Err())
		}
		return escalation.Delivery{}, fmt.Errorf("%s: page %d: %s %s: %w", g.name, p.ID, req.Method, req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	g.log.DebugContext(ctx, "sms gateway answered", "provider", g.name, "page_id", p.ID,
		"incident_id", p.IncidentID, "status", resp.StatusCode)

	if !g.succeeded(resp.StatusCode) {
		return escalation.Delivery{}, g.statusError(p, resp, body)
	}
	d := escalation.Delivery{Provider: g.name}
	if g.idPath == nil {
		return d, nil
	}
	var ok bool
	if readErr == nil {
		d.ProviderID, ok = lookupID(body, g.idPath)
	}
	if !ok {
		// Either the gateway reports a failure with a success status or its
		// reply changed shape. Not retried: if it did send, a retry pages
		// twice; failing moves on to the next contact rule instead.
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("%s: page %d: HTTP %d without a message id at %s: %s",
			g.name, p.ID, resp.StatusCode, strings.Join(g.idPath, "."), g.detail(body)))
	}
	return d, nil
}

func (g *Gateway) succeeded(status int) bool {
	if g.success == nil {
		return status >= 200 && status < 300
	}
	return slices.Contains(g.success, status)
}

// StatusError is a reply whose status is not a success status.
type StatusError struct {
	Provider string
	PageID   int64
	Status   int
	// Detail is the start of the reply's body, or why the status is not
	// taken as success; the secret is redacted.
	Detail string
	// RetryAfter is how long the gateway asked Klaxon to wait (429, 503).
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: page %d: HTTP %d %s", e.Provider, e.PageID, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: a timeout,
// throttling or the gateway's own failure.
func (e *StatusError) Retryable() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// RetryAfter reports how long the gateway asked Klaxon to wait before
// retrying, when it said.
func RetryAfter(err error) (time.Duration, bool) {
	var e *StatusError
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

func (g *Gateway) statusError(p escalation.Page, resp *http.Response, body []byte) error {
	e := &StatusError{Provider: g.name, PageID: p.ID, Status: resp.StatusCode, Detail: g.detail(body)}
	switch {
	case e.Retryable():
		e.RetryAfter = retryAfter(resp.Header)
		return e
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Detail = "redirects are not followed; set url to where the gateway redirects"
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		e.Detail = fmt.Sprintf("not in success_status %v", g.success)
	}
	return escalation.Permanent(e)
}

// retryAfter reads Retry-After as seconds or as an HTTP date, which is
// measured from the reply's Date so that the two clocks' skew cancels out.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	now, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return 0
	}
	return max(at.Sub(now), 0)
}

// lookupID finds a string or number at path in a JSON document.
func lookupID(body []byte, path []string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return "", false
	}
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[key]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return "", false
			}
			v = node[i]
		default:
			return "", false
		}
	}
	switch id := v.(type) {
	case string:
		return id, id != ""
	case json.Number:
		return id.String(), true
	}
	return "", false
}

// detail makes the start of a reply body fit for an error message: valid
// UTF-8 on one line, the secret redacted before anything is cut off, so no
// part of it survives either.
func (g *Gateway) detail(body []byte) string {
	s := g.redactor.Replace(strings.ToValidUTF8(string(body), "\uFFFD"))
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	s = g.redactor.Replace(s)
	if utf8.RuneCountInString(s) <= maxDetail {
		return s
	}
	r := []rune(s)
	return string(r[:maxDetail]) + "…"
}

// newRedactor replaces the secret as it may appear in an error: raw, and as
// a query, path or JSON string escapes it (a gateway may echo the request).
func newRedactor(secret string) *strings.Replacer {
	if secret == "" {
		return strings.NewReplacer()
	}
	inJSON, _ := json.Marshal(secret)
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), string(inJSON[1 : len(inJSON)-1])}
	// Longest first, so a form is never half-replaced by a shorter one.
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	var pairs []string
	for _, f := range slices.Compact(forms) {
		pairs = append(pairs, f, redacted)
	}
	return strings.NewReplacer(pairs...)
}

// redactedError is an error whose text had the secret in it; the causes
// stay reachable for errors.Is and escalation.IsPermanent.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (g *Gateway) redact(err error) error {
	msg := err.Error()
	if clean := g.redactor.Replace(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// isToken reports whether s is an RFC 9110 token, as header names and
// methods are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= utf8.RuneSelf || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
