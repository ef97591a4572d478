package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	testSID   = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	testToken = "s3cret-auth-token"
	testFrom  = "+15017122661"
	testTo    = "+15558675310"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// twilioAPI is a fake Twilio REST endpoint that records the last request.
type twilioAPI struct {
	t      *testing.T
	status int
	body   []byte

	method, path, contentType, idempotency string
	user, pass                             string
	basicOK                                bool
	form                                   url.Values
}

func (a *twilioAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.method, a.path = r.Method, r.URL.Path
	a.contentType = r.Header.Get("Content-Type")
	a.idempotency = r.Header.Get("I-Twilio-Idempotency-Token")
	a.user, a.pass, a.basicOK = r.BasicAuth()
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		a.t.Errorf("reading request: %v", err)
	}
	if a.form, err = url.ParseQuery(string(raw)); err != nil {
		a.t.Errorf("request body is not a form: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func newTestClient(t *testing.T, status int, body []byte) (*Client, *twilioAPI) {
	t.Helper()
	api := &twilioAPI{t: t, status: status, body: body}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c := NewClient(Options{
		AccountSID: testSID, AuthToken: testToken, From: testFrom,
		BaseURL: srv.URL + "/", PublicURL: "https://klaxon.example.org/",
		HTTPClient: srv.Client(),
	})
	return c, api
}

func (a *twilioAPI) checkCommon(t *testing.T, resource string) {
	t.Helper()
	if a.method != http.MethodPost {
		t.Errorf("method = %s, want POST", a.method)
	}
	if want := "/2010-04-01/Accounts/" + testSID + "/" + resource; a.path != want {
		t.Errorf("path = %s, want %s", a.path, want)
	}
	if !a.basicOK || a.user != testSID || a.pass != testToken {
		t.Errorf("basic auth = %q:%q (ok %v)", a.user, a.pass, a.basicOK)
	}
	if a.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("content type = %q", a.contentType)
	}
	if a.idempotency != "klaxon-page-7" {
		t.Errorf("idempotency token = %q", a.idempotency)
	}
}

func TestSendSMS(t *testing.T) {
	c, api := newTestClient(t, http.StatusCreated, readTestdata(t, "twilio_message_create_response_201.json"))
	d, err := c.Send(t.Context(), escalation.Page{
		ID: 7, IncidentID: 42, Person: "alice", Channel: escalation.ChannelSMS,
		Address: testTo, Text: "[P1] #42 HighErrorRate on checkout-api. Reply \"ack 42\".",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider != "twilio" || d.ProviderID != "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" || d.Failed != nil {
		t.Errorf("delivery = %+v", d)
	}
	api.checkCommon(t, "Messages.json")
	want := url.Values{
		"To":   {testTo},
		"From": {testFrom},
		"Body": {"[P1] #42 HighErrorRate on checkout-api. Reply \"ack 42\"."},
		// Twilio reports delivery there; an undelivered SMS moves the
		// person to the next contact rule.
		"StatusCallback": {"https://klaxon.example.org/twilio/status?page=7"},
	}
	if api.form.Encode() != want.Encode() {
		t.Errorf("form\n got %s\nwant %s", api.form.Encode(), want.Encode())
	}
}

func TestSendSMSTruncatesLongText(t *testing.T) {
	c, api := newTestClient(t, http.StatusCreated, readTestdata(t, "twilio_message_create_response_201.json"))
	text := strings.Repeat("é", 1000) + strings.Repeat("😀", 1000) // 3000 UTF-16 units
	if _, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: escalation.ChannelSMS, Address: testTo, Text: text}); err != nil {
		t.Fatal(err)
	}
	body := api.form.Get("Body")
	if n := utf16Len(body); n > maxSMSChars {
		t.Errorf("body is %d UTF-16 units", n)
	}
	if !utf8.ValidString(body) || !strings.HasSuffix(body, "...") || !strings.HasPrefix(body, "éé") {
		t.Errorf("body cut badly: ...%q", body[len(body)-20:])
	}
}

// callTwiML is the shape of the inline TwiML of a voice page.
type callTwiML struct {
	XMLName xml.Name `xml:"Response"`
	Gather  struct {
		NumDigits string   `xml:"numDigits,attr"`
		Action    string   `xml:"action,attr"`
		Method    string   `xml:"method,attr"`
		Timeout   string   `xml:"timeout,attr"`
		Says      []string `xml:"Say"`
	} `xml:"Gather"`
	Says   []string  `xml:"Say"`
	Hangup *struct{} `xml:"Hangup"`
}

func parseCallTwiML(t *testing.T, doc string) callTwiML {
	t.Helper()
	var r callTwiML
	if err := xml.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("TwiML does not parse: %v\n%s", err, doc)
	}
	return r
}

func TestSendVoice(t *testing.T) {
	c, api := newTestClient(t, http.StatusCreated, readTestdata(t, "twilio_call_create_response_201_queued.constructed.json"))
	text := `Disk <sda> at 95% & rising on "db-1"`
	d, err := c.Send(t.Context(), escalation.Page{ID: 7, IncidentID: 42, Person: "alice",
		Channel: escalation.ChannelVoice, Address: testTo, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider != "twilio" || d.ProviderID != "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" || d.Failed != nil {
		t.Errorf("delivery = %+v", d)
	}
	api.checkCommon(t, "Calls.json")
	for k, want := range map[string]string{"To": testTo, "From": testFrom, "Timeout": "30",
		"StatusCallback": "https://klaxon.example.org/twilio/status?page=7"} {
		if got := api.form.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(api.form) != 5 {
		t.Errorf("form fields = %v, want To, From, Twiml, Timeout, StatusCallback", api.form)
	}
	doc := api.form.Get("Twiml")
	if !strings.Contains(doc, "Disk &lt;sda&gt; at 95% &amp; rising on &#34;db-1&#34;") {
		t.Errorf("text not escaped in %s", doc)
	}
	r := parseCallTwiML(t, doc)
	g := r.Gather
	if g.NumDigits != "1" || g.Method != "POST" || g.Timeout != "10" {
		t.Errorf("gather attrs = %+v", g)
	}
	if want := "https://klaxon.example.org/twilio/voice/gather?page=7"; g.Action != want {
		t.Errorf("action = %q, want %q", g.Action, want)
	}
	wantSays := []string{text, keypadPrompt, text, keypadPrompt}
	if strings.Join(g.Says, "|") != strings.Join(wantSays, "|") {
		t.Errorf("gather says %q, want %q", g.Says, wantSays)
	}
	if len(r.Says) != 1 || r.Says[0] != noInputNotice || r.Hangup == nil {
		t.Errorf("no-input path = %q hangup %v", r.Says, r.Hangup != nil)
	}
}

func TestSendVoiceTruncatesLongText(t *testing.T) {
	c, api := newTestClient(t, http.StatusCreated, readTestdata(t, "twilio_call_create_response_201_queued.constructed.json"))
	text := strings.Repeat("a&b<c>", 2000)
	if _, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: escalation.ChannelVoice, Address: testTo, Text: text}); err != nil {
		t.Fatal(err)
	}
	doc := api.form.Get("Twiml")
	if n := utf8.RuneCountInString(doc); n >= maxTwiMLChars {
		t.Fatalf("TwiML is %d chars", n)
	}
	r := parseCallTwiML(t, doc)
	if len(r.Gather.Says) != 4 || !strings.HasPrefix(r.Gather.Says[0], "a&b<c>a&b") || !strings.HasSuffix(r.Gather.Says[0], "...") {
		t.Errorf("says = %.60q...", r.Gather.Says)
	}
}

func TestSendVoiceNeedsPublicURL(t *testing.T) {
	c := NewClient(Options{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: "http://127.0.0.1:1"})
	_, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: escalation.ChannelVoice, Address: testTo, Text: "x"})
	if !escalation.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestSendErrors(t *testing.T) {
	fixture400 := readTestdata(t, "twilio_error_response_400.constructed.json")
	cases := []struct {
		name      string
		status    int
		body      string
		permanent bool
		wantErr   string
	}{
		{"400 invalid To", 400, string(fixture400), true, "twilio 21211: The 'To' number +1555867531 is not a valid phone number."},
		{"400 not mobile", 400, `{"code":21614,"message":"'To' number is not a valid mobile number","status":400}`, true, "twilio 21614: "},
		{"401 auth", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, true, "twilio 20003: Authenticate"},
		{"403", 403, `{"code":20403,"message":"Forbidden","status":403}`, true, "twilio 20403"},
		{"404 account", 404, `{"code":20404,"message":"The requested resource was not found","status":404}`, true, "twilio 20404"},
		{"404 not json", 404, `<html>nope</html>`, true, "twilio: HTTP 404 Not Found"},
		{"429", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, false, "twilio 20429"},
		{"500", 500, `{"code":20500,"message":"Internal Server Error","status":500}`, false, "twilio 20500"},
		{"503 empty", 503, ``, false, "twilio: HTTP 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, tc.status, []byte(tc.body))
			d, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: escalation.ChannelSMS, Address: testTo, Text: "x"})
			if err == nil {
				t.Fatalf("no error, delivery %+v", d)
			}
			if got := escalation.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the auth token: %v", err)
			}
		})
	}
}

func TestSendUnsupportedChannel(t *testing.T) {
	c, api := newTestClient(t, http.StatusCreated, nil)
	_, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: "slack", Address: testTo, Text: "x"})
	if !escalation.IsPermanent(err) || err.Error() != "twilio cannot deliver channel slack" {
		t.Errorf("err = %v", err)
	}
	if api.method != "" {
		t.Error("request sent for an unsupported channel")
	}
}

func TestSendNoAddress(t *testing.T) {
	c, api := newTestClient(t, http.StatusCreated, nil)
	_, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: escalation.ChannelSMS, Text: "x"})
	if !escalation.IsPermanent(err) {
		t.Errorf("err = %v, want permanent", err)
	}
	if api.method != "" {
		t.Error("request sent without an address")
	}
}

func TestSendContextCancelled(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := NewClient(Options{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: srv.URL, HTTPClient: srv.Client()})

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.Send(ctx, escalation.Page{ID: 7, Channel: escalation.ChannelSMS, Address: testTo, Text: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if escalation.IsPermanent(err) {
		t.Error("cancellation marked permanent")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the auth token: %v", err)
	}
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now
	c := NewClient(Options{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: base})
	_, err := c.Send(t.Context(), escalation.Page{ID: 7, Channel: escalation.ChannelSMS, Address: testTo, Text: "x"})
	if err == nil || escalation.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestNewClientDefaults(t *testing.T) {
	c := NewClient(Options{})
	if c.baseURL != "https://api.twilio.com" {
		t.Errorf("base URL = %q", c.baseURL)
	}
	if c.http == nil || c.http.Timeout != defaultTimeout {
		t.Errorf("http client = %+v", c.http)
	}
}
