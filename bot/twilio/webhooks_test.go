package twilio

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
)

const (
	hookToken  = "test-auth-token"
	hookPublic = "https://klaxon.example.org/" // trailing slash on purpose
	alicePhone = "+13177592786"                // From of the inbound SMS fixture
	bobPhone   = "+15558675310"                // To of the gather callback fixture
)

// The real core must satisfy the webhooks' view of it.
var _ Engine = (*escalation.Engine)(nil)

// fakeEngine records the engine calls the webhooks make.
type fakeEngine struct {
	// The commands these tests send use only the methods below; any other
	// would panic on this nil interface.
	bot.Engine
	mu     sync.Mutex
	calls  []string
	titles map[int64]string
	pages  map[int64]*escalation.Page
	latest map[string]*escalation.Page
	errs   map[int64]error // returned by Acknowledge/Resolve for that incident
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		titles: map[int64]string{41: "Disk full on db-1", 42: "Checkout <API> 5xx & rising"},
		pages: map[int64]*escalation.Page{
			7: {ID: 7, IncidentID: 42, Person: "bob", Channel: escalation.ChannelVoice, Address: bobPhone, Text: "P1 incident 42: Checkout API errors."},
		},
		latest: map[string]*escalation.Page{
			"alice": {ID: 5, IncidentID: 41, Person: "alice", Channel: escalation.ChannelSMS},
		},
		errs: map[int64]error{
			43: escalation.Errorf(escalation.CodeConflict, "incident #43 is already acknowledged by bob"),
			44: errors.New("bbolt: disk I/O error"),
			45: escalation.Errorf(escalation.CodeNotFound, "incident #45 does not exist"),
		},
	}
}

func (f *fakeEngine) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeEngine) incident(id int64) (*escalation.Incident, error) {
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	return &escalation.Incident{ID: id, Title: f.titles[id]}, nil
}

func (f *fakeEngine) Acknowledge(_ context.Context, id int64, a escalation.Actor) (*escalation.Incident, error) {
	f.record("ack %d %s/%s", id, a.Name, a.Via)
	return f.incident(id)
}

func (f *fakeEngine) Resolve(_ context.Context, id int64, a escalation.Actor, note string) (*escalation.Incident, error) {
	f.record("resolve %d %s/%s %q", id, a.Name, a.Via, note)
	return f.incident(id)
}

func (f *fakeEngine) Incidents(_ context.Context, status escalation.Status, _ int) ([]*escalation.Incident, error) {
	f.record("incidents %s", status)
	return []*escalation.Incident{{ID: 42}, {ID: 41}}, nil
}

func (f *fakeEngine) LatestPageTo(_ context.Context, person string) (*escalation.Page, error) {
	f.record("latest %s", person)
	if p, ok := f.latest[person]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("latest page to %s: %w", person, escalation.ErrNotFound)
}

func (f *fakeEngine) Page(_ context.Context, id int64) (*escalation.Page, error) {
	// Lookups are reads, not actions; they are not recorded.
	if id == 500 {
		return nil, errors.New("bbolt: read failed")
	}
	if p, ok := f.pages[id]; ok {
		return p, nil
	}
	return nil, escalation.Errorf(escalation.CodeNotFound, "page %d does not exist", id)
}

func (f *fakeEngine) PageReport(_ context.Context, id int64, delivered bool, detail string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("report page %d delivered=%v %s", id, delivered, detail))
	if _, ok := f.pages[id]; !ok {
		return escalation.Errorf(escalation.CodeNotFound, "page %d does not exist", id)
	}
	return nil
}

func testCatalog() *escalation.Catalog {
	return &escalation.Catalog{People: map[string]*escalation.Person{
		"alice": {Name: "alice", Phone: alicePhone},
		"bob":   {Name: "bob", Phone: bobPhone},
		"carol": {Name: "carol"}, // no phone
	}}
}

// hookEnv is a mux with the webhooks registered and what they talk to.
type hookEnv struct {
	mux *http.ServeMux
	eng *fakeEngine
	log *bytes.Buffer
}

func newHookEnv(t *testing.T, token, publicURL string) *hookEnv {
	t.Helper()
	env := &hookEnv{mux: http.NewServeMux(), eng: newFakeEngine(), log: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	NewWebhooks(token, publicURL, env.eng, testCatalog(), log).Register(env.mux)
	t.Cleanup(func() {
		if token != "" && strings.Contains(env.log.String(), token) {
			t.Errorf("log contains the auth token:\n%s", env.log)
		}
	})
	return env
}

// testSign signs as Twilio does, written out independently of the package.
func testSign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	data := fullURL
	for _, k := range keys {
		for _, v := range form[k] {
			data += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// post sends body to target; sig "" means no signature header.
func (env *hookEnv) post(target, body, sig string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		r.Header.Set("X-Twilio-Signature", sig)
	}
	w := httptest.NewRecorder()
	env.mux.ServeHTTP(w, r)
	return w
}

// postSigned signs the form for the configured public URL and sends it.
func (env *hookEnv) postSigned(target string, form url.Values) *httptest.ResponseRecorder {
	return env.post(target, form.Encode(), testSign(hookToken, "https://klaxon.example.org"+target, form))
}

// fixtureForm is a testdata form body, parsed.
func fixtureForm(t *testing.T, name string) url.Values {
	t.Helper()
	form, err := url.ParseQuery(string(readTestdata(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// smsForm is the inbound SMS fixture with another From and Body.
func smsForm(t *testing.T, from, body string) url.Values {
	form := fixtureForm(t, "twilio_inbound_sms_webhook.txt")
	form.Set("From", from)
	form.Set("Body", body)
	return form
}

// twimlReply is the union of what the webhooks answer.
type twimlReply struct {
	XMLName xml.Name  `xml:"Response"`
	Message string    `xml:"Message"`
	Says    []string  `xml:"Say"`
	Hangup  *struct{} `xml:"Hangup"`
	Gather  *struct {
		NumDigits string   `xml:"numDigits,attr"`
		Action    string   `xml:"action,attr"`
		Says      []string `xml:"Say"`
	} `xml:"Gather"`
}

func parseReply(t *testing.T, w *httptest.ResponseRecorder) twimlReply {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/xml" {
		t.Errorf("content type = %q", ct)
	}
	var r twimlReply
	if err := xml.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("reply is not TwiML: %v\n%s", err, w.Body)
	}
	return r
}

func TestSMSFixtureWithPublishedSignature(t *testing.T) {
	// The constructed vector signs the fixture for this URL and token.
	env := newHookEnv(t, "12345", "https://oncall.example.org")
	w := env.post("/twilio/sms", string(readTestdata(t, "twilio_inbound_sms_webhook.txt")), "Z2SzEMw6mHXGM7S/Si21E5Tm34c=")
	r := parseReply(t, w)
	// The fixture says "Hi there from Twilio": alice is known, the text is
	// not a command.
	if want := `unknown command "Hi"; ` + bot.Usage; r.Message != want {
		t.Errorf("reply = %q, want %q", r.Message, want)
	}
	if calls := env.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine calls = %q", calls)
	}
}

func TestSMSCommands(t *testing.T) {
	cases := []struct {
		name, from, body string
		wantCalls        []string
		wantReply        string
	}{
		{"ack id", alicePhone, "ack 42", []string{"ack 42 alice/sms"}, "Acknowledged #42 Checkout <API> 5xx & rising. Paging stopped."},
		{"glued", alicePhone, "a42", []string{"ack 42 alice/sms"}, "Acknowledged #42 Checkout <API> 5xx & rising. Paging stopped."},
		{"1 acks the latest page", alicePhone, "1", []string{"latest alice", "ack 41 alice/sms"}, "Acknowledged #41 Disk full on db-1. Paging stopped."},
		{"ACK upper case", bobPhone, "ACK", []string{"latest bob"}, `you have not been paged recently; name the incident, e.g. "ack 42"`},
		{"resolve with note", alicePhone, "resolve 42 fixed", []string{`resolve 42 alice/sms "fixed"`}, "Resolved #42 Checkout <API> 5xx & rising."},
		{"ack all", bobPhone, "ack all", []string{"incidents triggered", "ack 42 bob/sms", "ack 41 bob/sms"}, "Acknowledged 2 incident(s). Paging stopped."},
		{"help", alicePhone, "help", nil, bot.Usage},
		{"garbage", alicePhone, "lol what", nil, `unknown command "lol"; ` + bot.Usage},
		{"empty", alicePhone, "", nil, "empty command; " + bot.Usage},
		{"conflict", alicePhone, "ack 43", []string{"ack 43 alice/sms"}, "incident #43 is already acknowledged by bob"},
		{"not found", alicePhone, "ack 45", []string{"ack 45 alice/sms"}, "incident #45 does not exist"},
		{"internal error", alicePhone, "ack 44", []string{"ack 44 alice/sms"}, smsInternalReply},
		{"unknown sender", "+19995550000", "ack 42", nil, unknownNumberReply},
		{"no sender", "", "ack 42", nil, unknownNumberReply},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, hookToken, hookPublic)
			r := parseReply(t, env.postSigned("/twilio/sms", smsForm(t, tc.from, tc.body)))
			if r.Message != tc.wantReply {
				t.Errorf("reply = %q, want %q", r.Message, tc.wantReply)
			}
			if got := env.eng.Calls(); strings.Join(got, "; ") != strings.Join(tc.wantCalls, "; ") {
				t.Errorf("calls = %q, want %q", got, tc.wantCalls)
			}
		})
	}
}

func TestSMSInternalErrorIsLogged(t *testing.T) {
	env := newHookEnv(t, hookToken, hookPublic)
	parseReply(t, env.postSigned("/twilio/sms", smsForm(t, alicePhone, "ack 44")))
	if log := env.log.String(); !strings.Contains(log, "bbolt: disk I/O error") || !strings.Contains(log, "level=ERROR") {
		t.Errorf("internal error not logged:\n%s", log)
	}
}

func TestSMSLogNamesWhoActed(t *testing.T) {
	env := newHookEnv(t, hookToken, hookPublic)
	parseReply(t, env.postSigned("/twilio/sms", smsForm(t, alicePhone, "ack 42")))
	log := env.log.String()
	for _, want := range []string{"level=INFO", `msg="sms command executed"`, "person=alice", "incident_id=42"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}

func TestWebhookRejects(t *testing.T) {
	sms := func(t *testing.T) url.Values { return smsForm(t, alicePhone, "ack 42") }
	gather := func(t *testing.T) url.Values { return fixtureForm(t, "twilio_gather_action_callback.constructed.txt") }
	const base = "https://klaxon.example.org"
	cases := []struct {
		name   string
		send   func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder
		status int
	}{
		{"sms missing header", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			return env.post("/twilio/sms", sms(t).Encode(), "")
		}, 403},
		{"sms tampered body", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := sms(t)
			sig := testSign(hookToken, base+"/twilio/sms", f)
			f.Set("Body", "resolve 42")
			return env.post("/twilio/sms", f.Encode(), sig)
		}, 403},
		{"sms tampered sender", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := smsForm(t, "+19995550000", "ack 42")
			sig := testSign(hookToken, base+"/twilio/sms", f)
			f.Set("From", alicePhone)
			return env.post("/twilio/sms", f.Encode(), sig)
		}, 403},
		{"sms extra param", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := sms(t)
			sig := testSign(hookToken, base+"/twilio/sms", f)
			return env.post("/twilio/sms", f.Encode()+"&Extra=1", sig)
		}, 403},
		{"sms wrong URL", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := sms(t)
			return env.post("/twilio/sms", f.Encode(), testSign(hookToken, "https://attacker.example/twilio/sms", f))
		}, 403},
		{"sms wrong token", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := sms(t)
			return env.post("/twilio/sms", f.Encode(), testSign("other-token", base+"/twilio/sms", f))
		}, 403},
		{"sms unparsable form", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			return env.post("/twilio/sms", "Body=ack+42&From=%zz", testSign(hookToken, base+"/twilio/sms", url.Values{"Body": {"ack 42"}}))
		}, 403},
		{"sms too large", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := sms(t)
			f.Set("Padding", strings.Repeat("x", 64<<10))
			return env.postSigned("/twilio/sms", f)
		}, 413},
		{"gather tampered digits", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := gather(t)
			sig := testSign(hookToken, base+"/twilio/voice/gather?page=7", f)
			f.Set("Digits", "2")
			return env.post("/twilio/voice/gather?page=7", f.Encode(), sig)
		}, 403},
		{"gather other page", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			f := gather(t)
			return env.post("/twilio/voice/gather?page=8", f.Encode(), testSign(hookToken, base+"/twilio/voice/gather?page=7", f))
		}, 403},
		{"gather fixture signed for its own URL", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			// Valid for /twilio/voice/ack?incident=..., not for this endpoint.
			return env.post("/twilio/voice/gather?page=7", string(readTestdata(t, "twilio_gather_action_callback.constructed.txt")), "++QAlRByqBtnmHXUpn+Fp5rmsb4=")
		}, 403},
		{"gather missing header", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			return env.post("/twilio/voice/gather?page=7", gather(t).Encode(), "")
		}, 403},
		{"GET", func(t *testing.T, env *hookEnv) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			env.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/twilio/sms", nil))
			return w
		}, 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, hookToken, hookPublic)
			w := tc.send(t, env)
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d (body %q)", w.Code, tc.status, w.Body)
			}
			if strings.Contains(w.Body.String(), "<Response") {
				t.Errorf("rejected request got TwiML: %s", w.Body)
			}
			if calls := env.eng.Calls(); len(calls) != 0 {
				t.Errorf("engine was called: %q", calls)
			}
			if strings.Contains(env.log.String(), "ack 42") || strings.Contains(env.log.String(), "ack+42") {
				t.Errorf("log holds the request body:\n%s", env.log)
			}
		})
	}
}

func TestWebhooksWithoutTokenRejectEverything(t *testing.T) {
	env := newHookEnv(t, "", hookPublic)
	f := smsForm(t, alicePhone, "ack 42")
	// An empty key is public knowledge; a request signed with it must not pass.
	w := env.post("/twilio/sms", f.Encode(), testSign("", "https://klaxon.example.org/twilio/sms", f))
	if w.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403", w.Code)
	}
	if calls := env.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine was called: %q", calls)
	}
}

func TestGather(t *testing.T) {
	cases := []struct {
		name, target, digits string
		wantCalls            []string
		wantSay              string // "" when a Gather re-prompt is expected
	}{
		{"1 acknowledges", "/twilio/voice/gather?page=7", "1", []string{"ack 42 bob/voice"}, "Incident 42 acknowledged. Thank you."},
		{"2 resolves", "/twilio/voice/gather?page=7", "2", []string{`resolve 42 bob/voice "resolved by phone keypress"`}, "Incident 42 resolved. Thank you."},
		{"9 re-prompts", "/twilio/voice/gather?page=7", "9", nil, ""},
		{"no digits re-prompts", "/twilio/voice/gather?page=7", "", nil, ""},
		{"unknown page", "/twilio/voice/gather?page=99", "1", nil, unknownPageReply},
		{"malformed page", "/twilio/voice/gather?page=abc", "1", nil, unknownPageReply},
		{"missing page", "/twilio/voice/gather", "1", nil, unknownPageReply},
		{"page lookup fails", "/twilio/voice/gather?page=500", "1", nil, voiceInternalReply},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, hookToken, hookPublic)
			f := fixtureForm(t, "twilio_gather_action_callback.constructed.txt")
			f.Set("Digits", tc.digits)
			r := parseReply(t, env.postSigned(tc.target, f))
			if got := env.eng.Calls(); strings.Join(got, "; ") != strings.Join(tc.wantCalls, "; ") {
				t.Errorf("calls = %q, want %q", got, tc.wantCalls)
			}
			if tc.wantSay != "" {
				if len(r.Says) != 1 || r.Says[0] != tc.wantSay || r.Hangup == nil || r.Gather != nil {
					t.Errorf("reply = %+v, want Say %q + Hangup", r, tc.wantSay)
				}
				return
			}
			g := r.Gather
			if g == nil {
				t.Fatalf("no Gather in re-prompt: %+v", r)
			}
			if g.NumDigits != "1" || g.Action != "https://klaxon.example.org/twilio/voice/gather?page=7" {
				t.Errorf("gather = %+v", g)
			}
			want := []string{repromptLead, "P1 incident 42: Checkout API errors.", keypadPrompt, "P1 incident 42: Checkout API errors.", keypadPrompt}
			if strings.Join(g.Says, "|") != strings.Join(want, "|") {
				t.Errorf("says = %q, want %q", g.Says, want)
			}
			if len(r.Says) != 1 || r.Says[0] != noInputNotice || r.Hangup == nil {
				t.Errorf("no-input path = %+v", r)
			}
		})
	}
}

func TestGatherEngineErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantSay string
	}{
		{"conflict", escalation.Errorf(escalation.CodeConflict, "incident #42 is already acknowledged by alice"), "incident #42 is already acknowledged by alice"},
		{"internal", errors.New("bbolt: disk I/O error"), voiceInternalReply},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, hookToken, hookPublic)
			env.eng.errs[42] = tc.err
			r := parseReply(t, env.postSigned("/twilio/voice/gather?page=7", fixtureForm(t, "twilio_gather_action_callback.constructed.txt")))
			if len(r.Says) != 1 || r.Says[0] != tc.wantSay || r.Hangup == nil {
				t.Errorf("reply = %+v, want Say %q + Hangup", r, tc.wantSay)
			}
			if got := env.eng.Calls(); len(got) != 1 || got[0] != "ack 42 bob/voice" {
				t.Errorf("calls = %q", got)
			}
		})
	}
}

func TestGatherLogNamesWhoActed(t *testing.T) {
	env := newHookEnv(t, hookToken, hookPublic)
	parseReply(t, env.postSigned("/twilio/voice/gather?page=7", fixtureForm(t, "twilio_gather_action_callback.constructed.txt")))
	log := env.log.String()
	for _, want := range []string{"level=INFO", `msg="voice keypress executed"`, "person=bob", "page_id=7", "incident_id=42", "action=acknowledged"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}

// Twilio reports each page's fate: the real status callback fixture, a
// failed SMS with its error code, an unanswered call. Only signed reports
// count; intermediate states change nothing.
func TestDeliveryReportsReachTheEngine(t *testing.T) {
	env := newHookEnv(t, hookToken, "https://klaxon.example.org")
	sent := fixtureForm(t, "twilio_sms_status_callback.txt")
	for _, tc := range []struct {
		name   string
		form   url.Values
		code   int
		record string
	}{
		{"sent is not final", sent, http.StatusNoContent, ""},
		{"delivered", with(sent, "MessageStatus", "delivered"), http.StatusNoContent, "report page 7 delivered=true twilio: SMS delivered"},
		{"undelivered", with(with(sent, "MessageStatus", "undelivered"), "ErrorCode", "30003"), http.StatusNoContent,
			"report page 7 delivered=false twilio: SMS undelivered (error 30003)"},
		{"no answer", url.Values{"CallSid": {"CA1"}, "CallStatus": {"no-answer"}}, http.StatusNoContent, "report page 7 delivered=false twilio: call no-answer"},
		{"ringing is not final", url.Values{"CallSid": {"CA1"}, "CallStatus": {"ringing"}}, http.StatusNoContent, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(env.eng.calls)
			rec := env.postSigned("/twilio/status?page=7", tc.form)
			if rec.Code != tc.code {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			calls := env.eng.calls[before:]
			if (tc.record == "") != (len(calls) == 0) || (tc.record != "" && calls[0] != tc.record) {
				t.Fatalf("engine calls %q, want %q", calls, tc.record)
			}
		})
	}
	before := len(env.eng.calls)
	if rec := env.post("/twilio/status?page=7", with(sent, "MessageStatus", "failed").Encode(), "bogus"); rec.Code != http.StatusForbidden {
		t.Fatalf("unsigned report: %d", rec.Code)
	}
	if rec := env.postSigned("/twilio/status?page=999", with(sent, "MessageStatus", "failed")); rec.Code != http.StatusNotFound {
		t.Fatalf("report for an unknown page: %d", rec.Code)
	}
	if rec := env.postSigned("/twilio/status", with(sent, "MessageStatus", "failed")); rec.Code != http.StatusBadRequest {
		t.Fatalf("report without a page: %d", rec.Code)
	}
	if len(env.eng.calls) != before+1 { // only the unknown page reached the engine
		t.Fatalf("engine calls %q", env.eng.calls[before:])
	}
}

func with(v url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	out.Set(key, value)
	return out
}
