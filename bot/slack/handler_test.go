package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
)

const (
	testSecret = "d3adb33f-signing-secret"
	// The fixtures' users: the docs slash command's and the docs button
	// click's.
	aliceSlack = "U2CERLKJA"
	bobSlack   = "UA8RXUSPL"
	carolSlack = "U0CAROL00"
	strangerID = "U0STRANGER"

	commandResponseURL = "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
	buttonResponseURL  = "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209"
	// fixtureVerificationToken is the deprecated "token" field of the
	// fixtures; it must never reach a log.
	fixtureVerificationToken = "xyzz0WbapA4vBCDEFasx0q6G"
)

// fakeEngine records the engine calls commands make. With a gate, its
// actions wait for it (or their context) before answering.
type fakeEngine struct {
	// The commands these tests send use only the methods below; any other
	// would panic on this nil interface, which the handler contains and a
	// test sees as the internal-error reply.
	bot.Engine
	mu        sync.Mutex
	calls     []string
	incidents map[int64]*escalation.Incident
	latest    map[string]int64
	errs      map[int64]error
	readErrs  map[int64]error // returned by Incident
	panicOn   int64
	gate      chan struct{}
}

func newFakeEngine() *fakeEngine {
	checkout := checkoutIncident()
	disk := checkoutIncident()
	disk.ID, disk.Title, disk.Service, disk.Priority = 41, "Disk full on db-1", "db", escalation.P2
	unreadable := checkoutIncident()
	unreadable.ID, unreadable.Title = 47, "Queue backlog"
	return &fakeEngine{
		incidents: map[int64]*escalation.Incident{41: disk, 42: checkout, 47: unreadable},
		latest:    map[string]int64{"alice": 41},
		errs: map[int64]error{
			43: escalation.Errorf(escalation.CodeConflict, "incident #43 is already acknowledged by bob"),
			44: errors.New("bbolt: disk I/O error"),
			45: escalation.Errorf(escalation.CodeNotFound, "incident #45 does not exist"),
		},
		readErrs: map[int64]error{47: errors.New("bbolt: read failed")},
		panicOn:  666,
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
	return slices.Clone(f.calls)
}

// change waits at the gate, then applies fn to the incident.
func (f *fakeEngine) change(ctx context.Context, id int64, fn func(*escalation.Incident)) (*escalation.Incident, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, fmt.Errorf("acknowledging #%d: %w", id, ctx.Err())
		}
	}
	if id == f.panicOn {
		panic("nil map write in the engine")
	}
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inc, ok := f.incidents[id]
	if !ok {
		return nil, escalation.Errorf(escalation.CodeNotFound, "incident #%d does not exist", id)
	}
	fn(inc)
	cp := *inc
	return &cp, nil
}

// Incident is a read, not an action: it is not recorded.
func (f *fakeEngine) Incident(_ context.Context, id int64) (*escalation.Incident, []escalation.Event, error) {
	if err := f.readErrs[id]; err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inc, ok := f.incidents[id]
	if !ok {
		return nil, nil, escalation.Errorf(escalation.CodeNotFound, "incident #%d does not exist", id)
	}
	cp := *inc
	return &cp, []escalation.Event{{Kind: escalation.EventTriggered}}, nil
}

// fakeNow is when the fake engine acks and resolves.
func fakeNow() time.Time { return time.Date(2025, 3, 14, 1, 12, 0, 0, time.UTC) }

func (f *fakeEngine) Acknowledge(ctx context.Context, id int64, a escalation.Actor) (*escalation.Incident, error) {
	f.record("ack %d %s/%s", id, a.Name, a.Via)
	return f.change(ctx, id, func(inc *escalation.Incident) {
		inc.Status, inc.AcknowledgedBy, inc.AcknowledgedAt = escalation.StatusAcknowledged, a.Name, fakeNow()
	})
}

func (f *fakeEngine) Resolve(ctx context.Context, id int64, a escalation.Actor, note string) (*escalation.Incident, error) {
	f.record("resolve %d %s/%s %q", id, a.Name, a.Via, note)
	return f.change(ctx, id, func(inc *escalation.Incident) {
		inc.Status, inc.ResolvedBy, inc.ResolvedAt = escalation.StatusResolved, a.Name, fakeNow()
	})
}

func (f *fakeEngine) Escalate(ctx context.Context, id int64, level int, a escalation.Actor) (*escalation.Incident, error) {
	f.record("escalate %d level %d %s/%s", id, level, a.Name, a.Via)
	return f.change(ctx, id, func(inc *escalation.Incident) {
		inc.Status, inc.AcknowledgedBy, inc.AcknowledgedAt = escalation.StatusTriggered, "", time.Time{}
		inc.Escalation.Level++
	})
}

func (f *fakeEngine) Reassign(ctx context.Context, id int64, person string, a escalation.Actor) (*escalation.Incident, error) {
	f.record("reassign %d to %s by %s/%s", id, person, a.Name, a.Via)
	return f.change(ctx, id, func(*escalation.Incident) {})
}

func (f *fakeEngine) Catalog() *escalation.Catalog {
	return &escalation.Catalog{People: map[string]*escalation.Person{"alice": {Name: "alice"}, "bob": {Name: "bob"}, "carol": {Name: "carol"}}}
}

func (f *fakeEngine) Incidents(_ context.Context, status escalation.Status, _ int) ([]*escalation.Incident, error) {
	f.record("incidents %s", status)
	return []*escalation.Incident{{ID: 42}, {ID: 41}}, nil
}

func (f *fakeEngine) LatestPageTo(_ context.Context, person string) (*escalation.Page, error) {
	f.record("latest %s", person)
	if id, ok := f.latest[person]; ok {
		return &escalation.Page{ID: 5, IncidentID: id, Person: person}, nil
	}
	return nil, fmt.Errorf("latest page to %s: %w", person, escalation.ErrNotFound)
}

// slackHooks stands in for hooks.slack.com as the transport of the
// handler's HTTP client: it records what is posted to response_url.
type slackHooks struct {
	mu     sync.Mutex
	posts  []hookPost
	status int
	answer string
	// posted, when set, is told of every post (for tests outside a bubble).
	posted chan hookPost
}

type hookPost struct {
	method, url, contentType string
	body                     []byte
}

func (s *slackHooks) RoundTrip(r *http.Request) (*http.Response, error) {
	// A real transport gives up on a cancelled request.
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	post := hookPost{method: r.Method, url: r.URL.String(), contentType: r.Header.Get("Content-Type"), body: body}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, post)
	if s.posted != nil {
		s.posted <- post
	}
	status, answer := s.status, s.answer
	if status == 0 {
		status, answer = http.StatusOK, "ok"
	}
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"text/plain"}},
		Body:       io.NopCloser(strings.NewReader(answer)),
		Request:    r,
	}, nil
}

func (s *slackHooks) Posts() []hookPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// slackEnv is a mux with the handler registered and what it talks to.
type slackEnv struct {
	t      *testing.T
	mux    *http.ServeMux
	h      *Handler
	eng    *fakeEngine
	hooks  *slackHooks
	log    *logBuffer
	clock  *escalation.ManualClock
	secret string
}

// logBuffer collects the handler's log; tests read it while Socket Mode
// goroutines may still write.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testPeople() StaticPeople {
	return StaticPeople{aliceSlack: "alice", bobSlack: "bob", carolSlack: "carol"}
}

// newSlackEnv runs inside the synctest bubble of its test, so that the
// handler's timers and goroutines belong to it; only the Socket Mode tests,
// which need a real local websocket, run it outside one.
func newSlackEnv(t *testing.T, people People) *slackEnv {
	t.Helper()
	env := &slackEnv{
		t:      t,
		mux:    http.NewServeMux(),
		eng:    newFakeEngine(),
		hooks:  &slackHooks{},
		log:    &logBuffer{},
		clock:  escalation.NewManualClock(docsTime()),
		secret: testSecret,
	}
	env.h = NewHandler(Options{
		SigningSecret: testSecret,
		Engine:        env.eng,
		People:        people,
		Clock:         env.clock,
		Log:           slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient:    &http.Client{Transport: env.hooks},
	})
	env.h.Register(env.mux)
	t.Cleanup(func() {
		env.h.Wait()
		for _, secret := range []string{testSecret, docsSecret, fixtureVerificationToken} {
			if strings.Contains(env.log.String(), secret) {
				t.Errorf("log contains %q:\n%s", secret, env.log)
			}
		}
	})
	return env
}

// send posts body to path with the given Slack headers.
func (env *slackEnv) send(path, body string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		r.Header[k] = v
	}
	// As net/http does, the request's context ends with its handler.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := httptest.NewRecorder()
	env.mux.ServeHTTP(w, r.WithContext(ctx))
	return w
}

// sendSigned signs body as Slack does, at the clock's now.
func (env *slackEnv) sendSigned(path, body string) *httptest.ResponseRecorder {
	ts := env.clock.Now().Unix()
	return env.send(path, body, slackHeader(strconv.FormatInt(ts, 10), testSign(env.secret, ts, body)))
}

// commandForm is the docs' signed slash command with another user and text.
func commandForm(t *testing.T, userID, text string) url.Values {
	t.Helper()
	form, err := url.ParseQuery(string(readTestdata(t, "slack_slash_command_signed.txt")))
	if err != nil {
		t.Fatal(err)
	}
	form.Set("command", "/klaxon")
	form.Set("user_id", userID)
	form.Set("text", text)
	return form
}

func (env *slackEnv) command(userID, text string) *httptest.ResponseRecorder {
	return env.sendSigned("/slack/commands", commandForm(env.t, userID, text).Encode())
}

// clickPayload is the docs' block_actions example as a click on one of
// Klaxon's buttons; edit may change it further.
func clickPayload(t *testing.T, userID, actionID, value string, edit func(p map[string]any)) string {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(readTestdata(t, "slack_block_actions_payload.json"), &p); err != nil {
		t.Fatal(err)
	}
	p["user"].(map[string]any)["id"] = userID
	act := p["actions"].([]any)[0].(map[string]any)
	act["action_id"], act["value"], act["block_id"] = actionID, value, "incident"
	if edit != nil {
		edit(p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

func (env *slackEnv) click(userID, actionID, value string) *httptest.ResponseRecorder {
	return env.sendSigned("/slack/interactions", clickPayload(env.t, userID, actionID, value, nil))
}

// reply is the union of what Klaxon sends Slack as a message.
type reply struct {
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal *bool           `json:"replace_original"`
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	keys            []string
}

func decodeReply(t *testing.T, body []byte) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("reply is not JSON: %v\n%s", err, body)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	r.keys = slices.Sorted(maps.Keys(m))
	return r
}

// answer is the HTTP answer to a slash command, which Slack shows.
func answer(t *testing.T, w *httptest.ResponseRecorder) reply {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type = %q", ct)
	}
	return decodeReply(t, w.Body.Bytes())
}

// acked is a click's empty 200: Slack ignores the body of the answer.
func acked(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("answer = %d %q, want an empty 200", w.Code, w.Body)
	}
}

// onlyPost is the one message posted to response_url.
func (env *slackEnv) onlyPost(wantURL string) reply {
	env.t.Helper()
	env.h.Wait()
	posts := env.hooks.Posts()
	if len(posts) != 1 {
		env.t.Fatalf("%d posts to response_url, want 1: %+v", len(posts), posts)
	}
	p := posts[0]
	if p.method != http.MethodPost || p.url != wantURL || !strings.HasPrefix(p.contentType, "application/json") {
		env.t.Errorf("post = %s %s (%s), want POST %s as JSON", p.method, p.url, p.contentType, wantURL)
	}
	return decodeReply(env.t, p.body)
}

func (env *slackEnv) noPosts() {
	env.t.Helper()
	env.h.Wait()
	if posts := env.hooks.Posts(); len(posts) != 0 {
		env.t.Errorf("posted to response_url: %+v", posts)
	}
}

func (env *slackEnv) noCalls() {
	env.t.Helper()
	env.h.Wait()
	if calls := env.eng.Calls(); len(calls) != 0 {
		env.t.Errorf("engine was called: %q", calls)
	}
}

// parseError is the grammar's own answer to text, which Slack must show
// as it is.
func parseError(t *testing.T, text string) string {
	t.Helper()
	_, err := bot.Parse(text)
	if err == nil {
		t.Fatalf("%q parses", text)
	}
	return err.Error()
}

func fixtureKeys(t *testing.T, name string) []string {
	t.Helper()
	return decodeReply(t, readTestdata(t, name)).keys
}

func TestDocsSlashCommandWithPublishedSignature(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.secret = docsSecret
		env.h.secret = docsSecret
		body := string(readTestdata(t, "slack_slash_command_signed.txt"))
		w := env.send("/slack/commands", body, slackHeader(strconv.Itoa(docsTimestamp), docsSignature))
		// The docs' command has no text: alice is known, the grammar asks
		// for a command.
		r := answer(t, w)
		if want := parseError(t, ""); r.Text != want || r.ResponseType != "ephemeral" {
			t.Errorf("reply = %+v, want ephemeral %q", r, want)
		}
		if want := fixtureKeys(t, "slack_slash_command_response.constructed.json"); !slices.Equal(r.keys, want) {
			t.Errorf("reply keys = %q, want Slack's %q", r.keys, want)
		}
		env.noCalls()
		env.noPosts()
	})
}

func TestDocsSlashCommandExampleFromAnUnknownUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		// The docs' full field list, enterprise fields and unencoded URL included.
		r := answer(t, env.sendSigned("/slack/commands", string(readTestdata(t, "slack_slash_command_docs_example.txt"))))
		if r.ResponseType != "ephemeral" || r.Text != unknownUserReply("U2147483697") {
			t.Errorf("reply = %+v", r)
		}
		env.noCalls()
	})
}

func TestSlashCommands(t *testing.T) {
	const inChannel, eph = "in_channel", "ephemeral"
	cases := []struct {
		name, user, text string
		wantCalls        []string
		wantType         string
		wantText         string
	}{
		{"ack id", aliceSlack, "ack 42", []string{"ack 42 alice/slack"}, inChannel, "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."},
		{"glued", aliceSlack, "a42", []string{"ack 42 alice/slack"}, inChannel, "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."},
		{"with the command name", aliceSlack, "/klaxon ack #42", []string{"ack 42 alice/slack"}, inChannel, "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."},
		{"ack acks the latest page", aliceSlack, "ack", []string{"latest alice", "ack 41 alice/slack"}, inChannel, "Acknowledged #41 Disk full on db-1. Paging stopped."},
		{"ack without a page", carolSlack, "ACK", []string{"latest carol"}, eph, `you have not been paged recently; name the incident, e.g. "ack 42"`},
		{"escalate", aliceSlack, "escalate 42", []string{"escalate 42 level 0 alice/slack"}, inChannel, "Escalated #42 HighErrorRate on checkout-api to level 2."},
		{"reassign to a mention", aliceSlack, "reassign 42 <@" + bobSlack + "|bob>", []string{"reassign 42 to bob by alice/slack"}, inChannel, "Reassigned #42 HighErrorRate on checkout-api to bob, who is being paged."},
		{"reassign to a plain mention", aliceSlack, "reassign 42 <@" + carolSlack + ">", []string{"reassign 42 to carol by alice/slack"}, inChannel, "Reassigned #42 HighErrorRate on checkout-api to carol, who is being paged."},
		{"resolve with note", bobSlack, "resolve 42 rolled back", []string{`resolve 42 bob/slack "rolled back"`}, inChannel, "Resolved #42 HighErrorRate on checkout-api."},
		// Slack sends the & < > typed as entities; the note reads as typed.
		{"note as Slack escapes it", bobSlack, "resolve 42 payments &amp; checkout back, p99 &lt; 200ms, &amp;lt; is literal",
			[]string{`resolve 42 bob/slack "payments & checkout back, p99 < 200ms, &lt; is literal"`}, inChannel, "Resolved #42 HighErrorRate on checkout-api."},
		{"ack all", bobSlack, "ack all", []string{"incidents triggered", "ack 42 bob/slack", "ack 41 bob/slack"}, inChannel, "Acknowledged 2 incident(s). Paging stopped."},
		{"help", aliceSlack, "help", nil, eph, bot.Usage},
		{"garbage", aliceSlack, "lol what", nil, eph, parseError(t, "lol what")},
		{"bad id", aliceSlack, "ack 4x2", nil, eph, parseError(t, "ack 4x2")},
		{"ack two", aliceSlack, "ack 41 42", nil, eph, parseError(t, "ack 41 42")},
		{"conflict", aliceSlack, "ack 43", []string{"ack 43 alice/slack"}, eph, "incident #43 is already acknowledged by bob"},
		{"not found", aliceSlack, "resolve 45", []string{`resolve 45 alice/slack ""`}, eph, "incident #45 does not exist"},
		{"internal error", aliceSlack, "ack 44", []string{"ack 44 alice/slack"}, eph, internalReply},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				r := answer(t, env.command(tc.user, tc.text))
				if r.Text != tc.wantText || r.ResponseType != tc.wantType {
					t.Errorf("reply = %s %q, want %s %q", r.ResponseType, r.Text, tc.wantType, tc.wantText)
				}
				if r.ReplaceOriginal != nil || len(r.Blocks) != 0 {
					t.Errorf("slash reply carries %v", r.keys)
				}
				env.h.Wait()
				if got := env.eng.Calls(); !slices.Equal(got, tc.wantCalls) {
					t.Errorf("calls = %q, want %q", got, tc.wantCalls)
				}
				env.noPosts()
			})
		})
	}
}

func TestQuestionsAreAnsweredOnlyToTheAsker(t *testing.T) {
	for _, text := range []string{"incident 42", "incidents", "help"} {
		t.Run(text, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				r := answer(t, env.command(aliceSlack, text))
				if r.ResponseType != "ephemeral" || r.Text == "" || r.Text == internalReply {
					t.Errorf("reply = %+v", r)
				}
				if text == "incident 42" && !strings.HasPrefix(r.Text, "#42 P1 triggered [checkout-api] HighErrorRate on checkout-api\n") {
					t.Errorf("reply = %q", r.Text)
				}
			})
		})
	}
}

func TestRepliesCannotNotifyTheChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.eng.incidents[42].Title = "<!channel> checkout & payments down"
		r := answer(t, env.command(aliceSlack, "ack 42"))
		if want := "Acknowledged #42 &lt;!channel&gt; checkout &amp; payments down. Paging stopped."; r.Text != want || r.ResponseType != "in_channel" {
			t.Errorf("reply = %s %q, want in_channel %q", r.ResponseType, r.Text, want)
		}
		// What people type is echoed escaped too.
		if r := answer(t, env.command(aliceSlack, "<!here> ack")); strings.Contains(r.Text, "<!here>") {
			t.Errorf("reply = %q", r.Text)
		}
	})
}

func TestEscalateButtonRerendersTheIncidentAsTriggered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		inc := env.eng.incidents[42]
		inc.Status, inc.AcknowledgedBy, inc.AcknowledgedAt = escalation.StatusAcknowledged, "bob", fakeNow()
		acked(t, env.click(aliceSlack, ActionEscalate, "42"))
		p := env.onlyPost(buttonResponseURL)
		if got := env.eng.Calls(); !slices.Equal(got, []string{"escalate 42 level 0 alice/slack"}) {
			t.Errorf("calls = %q", got)
		}
		if p.ReplaceOriginal == nil || !*p.ReplaceOriginal || !strings.HasSuffix(p.Text, ": triggered") {
			t.Errorf("post = replace %v text %q", p.ReplaceOriginal, p.Text)
		}
		// Triggered again: Ack is back.
		if !strings.Contains(string(p.Blocks), `"action_id":"ack"`) {
			t.Errorf("blocks = %s", p.Blocks)
		}
	})
}

func TestUnknownSlackUserCannotAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		r := answer(t, env.command(strangerID, "ack 42"))
		if r.ResponseType != "ephemeral" || r.Text != unknownUserReply(strangerID) {
			t.Errorf("reply = %+v", r)
		}
		if !strings.Contains(r.Text, "not a Klaxon responder") || !strings.Contains(r.Text, strangerID) {
			t.Errorf("reply does not say what to do: %q", r.Text)
		}
		env.noCalls()
		env.noPosts()
		if log := env.log.String(); !strings.Contains(log, "slack command from unknown user") || !strings.Contains(log, "slack_user_id="+strangerID) {
			t.Errorf("log:\n%s", log)
		}
	})
}

func TestWithoutADirectoryNobodyIsKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, nil)
		if r := answer(t, env.command(aliceSlack, "ack 42")); r.Text != unknownUserReply(aliceSlack) {
			t.Errorf("reply = %q", r.Text)
		}
		env.noCalls()
	})
}

func TestSlowCommandAnswersWorkingOnItThenFollowsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.eng.gate = make(chan struct{})
		start := time.Now()
		r := answer(t, env.command(aliceSlack, "ack 42"))
		if waited := time.Since(start); waited != defaultBudget {
			t.Errorf("answered after %s, want the %s budget", waited, defaultBudget)
		}
		if r.ResponseType != "ephemeral" || r.Text != workingReply {
			t.Errorf("answer = %+v, want ephemeral %q", r, workingReply)
		}
		synctest.Wait()
		if posts := env.hooks.Posts(); len(posts) != 0 {
			t.Fatalf("replied before the command finished: %+v", posts)
		}

		close(env.eng.gate)
		p := env.onlyPost(commandResponseURL)
		if p.ResponseType != "in_channel" || p.Text != "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped." {
			t.Errorf("follow-up = %+v", p)
		}
		if want := fixtureKeys(t, "slack_slash_command_response.constructed.json"); !slices.Equal(p.keys, want) {
			t.Errorf("follow-up keys = %q, want %q", p.keys, want)
		}
		if got := env.eng.Calls(); !slices.Equal(got, []string{"ack 42 alice/slack"}) {
			t.Errorf("calls = %q", got)
		}
	})
}

func TestBudgetIsAnOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.h.budget = 300 * time.Millisecond
		env.eng.gate = make(chan struct{})
		start := time.Now()
		if r := answer(t, env.command(aliceSlack, "resolve 42")); r.Text != workingReply {
			t.Errorf("answer = %q", r.Text)
		}
		if waited := time.Since(start); waited != 300*time.Millisecond {
			t.Errorf("answered after %s", waited)
		}
		close(env.eng.gate)
		if p := env.onlyPost(commandResponseURL); p.Text != "Resolved #42 HighErrorRate on checkout-api." {
			t.Errorf("follow-up = %+v", p)
		}
	})
}

func TestHungCommandIsCutOffAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.eng.gate = make(chan struct{}) // never opens
		start := time.Now()
		if r := answer(t, env.command(aliceSlack, "ack 42")); r.Text != workingReply {
			t.Errorf("answer = %q", r.Text)
		}
		p := env.onlyPost(commandResponseURL)
		if p.ResponseType != "ephemeral" || p.Text != internalReply {
			t.Errorf("follow-up = %+v", p)
		}
		if waited := time.Since(start); waited != defaultCommandTimeout {
			t.Errorf("gave up after %s, want %s", waited, defaultCommandTimeout)
		}
		if log := env.log.String(); !strings.Contains(log, "slack command failed") || !strings.Contains(log, "context deadline exceeded") {
			t.Errorf("log:\n%s", log)
		}
	})
}

func TestFollowUpFailureIsLogged(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		status       int
		wantLog      string
	}{
		{"expired", "expired_url", http.StatusNotFound, `response_url answered HTTP 404: \"expired_url\"`},
		{"refused", `{"ok":false,"error":"invalid_blocks"}`, http.StatusOK, "response_url refused the reply: invalid_blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				env.hooks.status, env.hooks.answer = tc.status, tc.answer
				env.eng.gate = make(chan struct{})
				answer(t, env.command(aliceSlack, "ack 42"))
				close(env.eng.gate)
				env.onlyPost(commandResponseURL)
				log := env.log.String()
				if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "slack reply not delivered") || !strings.Contains(log, tc.wantLog) {
					t.Errorf("log lacks %s:\n%s", tc.wantLog, log)
				}
			})
		})
	}
}

func TestSlowCommandWithoutResponseURLIsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.eng.gate = make(chan struct{})
		form := commandForm(t, aliceSlack, "ack 42")
		form.Del("response_url")
		if r := answer(t, env.sendSigned("/slack/commands", form.Encode())); r.Text != workingReply {
			t.Errorf("answer = %q", r.Text)
		}
		close(env.eng.gate)
		env.noPosts()
		if log := env.log.String(); !strings.Contains(log, "no response_url to reply to") {
			t.Errorf("log:\n%s", log)
		}
	})
}

func TestInternalErrorIsLoggedNotShown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		r := answer(t, env.command(aliceSlack, "ack 44"))
		if strings.Contains(r.Text, "bbolt") {
			t.Errorf("reply shows the internal error: %q", r.Text)
		}
		env.h.Wait()
		if log := env.log.String(); !strings.Contains(log, "bbolt: disk I/O error") || !strings.Contains(log, "level=ERROR") {
			t.Errorf("internal error not logged:\n%s", log)
		}
	})
}

func TestCommandPanicIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		r := answer(t, env.command(aliceSlack, "ack 666"))
		if r.ResponseType != "ephemeral" || r.Text != internalReply {
			t.Errorf("reply = %+v", r)
		}
		env.h.Wait()
		if log := env.log.String(); !strings.Contains(log, "panic in slack command") || !strings.Contains(log, "nil map write in the engine") {
			t.Errorf("panic not logged:\n%s", log)
		}
	})
}

// panickyPeople fails in the request's own goroutine.
type panickyPeople struct{}

func (panickyPeople) PersonBySlackID(string) (string, bool) { panic("directory corrupted") }

func TestHandlerPanicIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, panickyPeople{})
		w := env.command(aliceSlack, "ack 42")
		if w.Code != http.StatusInternalServerError {
			t.Errorf("status = %d", w.Code)
		}
		env.noCalls()
		if log := env.log.String(); !strings.Contains(log, "panic in handler") || !strings.Contains(log, "directory corrupted") {
			t.Errorf("panic not logged:\n%s", log)
		}
	})
}

func TestSlackLogNamesWhoActed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		answer(t, env.command(aliceSlack, "ack 42"))
		env.h.Wait()
		log := env.log.String()
		for _, want := range []string{"level=INFO", `msg="slack command executed"`, "person=alice", "slack_user_id=" + aliceSlack,
			"verb=ack", "incident_id=42", "source=slash_command"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %s:\n%s", want, log)
			}
		}
	})
}

func TestCommandRejects(t *testing.T) {
	ts := strconv.FormatInt(docsTimestamp, 10)
	cases := []struct {
		name     string
		send     func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder
		status   int
		wantBody string
	}{
		{"no signature", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.send("/slack/commands", commandForm(t, aliceSlack, "ack 42").Encode(), slackHeader(ts, ""))
		}, 401, "missing X-Slack-Signature"},
		{"no headers at all", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.send("/slack/commands", commandForm(t, aliceSlack, "ack 42").Encode(), nil)
		}, 401, "missing X-Slack-Request-Timestamp"},
		{"tampered text", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			signed := commandForm(t, aliceSlack, "ack 42").Encode()
			tampered := commandForm(t, aliceSlack, "resolve 42").Encode()
			return env.send("/slack/commands", tampered, slackHeader(ts, testSign(testSecret, docsTimestamp, signed)))
		}, 401, "does not match"},
		{"tampered user", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			signed := commandForm(t, strangerID, "ack 42").Encode()
			tampered := commandForm(t, aliceSlack, "ack 42").Encode()
			return env.send("/slack/commands", tampered, slackHeader(ts, testSign(testSecret, docsTimestamp, signed)))
		}, 401, "does not match"},
		{"wrong secret", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			body := commandForm(t, aliceSlack, "ack 42").Encode()
			return env.send("/slack/commands", body, slackHeader(ts, testSign("another-app", docsTimestamp, body)))
		}, 401, "does not match"},
		{"stale", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			body := commandForm(t, aliceSlack, "ack 42").Encode()
			old := int64(docsTimestamp - 6*60)
			return env.send("/slack/commands", body, slackHeader(strconv.FormatInt(old, 10), testSign(testSecret, old, body)))
		}, 401, "more than 5 minutes"},
		{"replayed later", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			body := commandForm(t, aliceSlack, "ack 42").Encode()
			h := slackHeader(ts, testSign(testSecret, docsTimestamp, body))
			env.clock.Set(docsTime().Add(10 * time.Minute))
			return env.send("/slack/commands", body, h)
		}, 401, "more than 5 minutes"},
		{"signed but not a form", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/commands", "user_id=U2CERLKJA&text=ack%zz42")
		}, 400, "request body is not a valid form"},
		{"signed but no user", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			form := commandForm(t, aliceSlack, "ack 42")
			form.Del("user_id")
			return env.sendSigned("/slack/commands", form.Encode())
		}, 400, "slash command has no user_id"},
		{"too large", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			form := commandForm(t, aliceSlack, "ack 42")
			form.Set("padding", strings.Repeat("x", maxCommandBody))
			return env.sendSigned("/slack/commands", form.Encode())
		}, 413, "larger than"},
		{"GET", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			env.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/slack/commands", nil))
			return w
		}, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				w := tc.send(t, env)
				if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.wantBody) {
					t.Errorf("answer = %d %q, want %d %q", w.Code, w.Body, tc.status, tc.wantBody)
				}
				if strings.Contains(w.Body.String(), "response_type") {
					t.Errorf("rejected request got a Slack message: %s", w.Body)
				}
				env.noCalls()
				env.noPosts()
				if strings.Contains(env.log.String(), "ack 42") || strings.Contains(env.log.String(), "ack+42") {
					t.Errorf("log holds the request body:\n%s", env.log)
				}
			})
		})
	}
}

func TestSigningSecretIsRequired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.h.secret, env.secret = "", ""
		// An empty key is public knowledge; a request signed with it must not pass.
		w := env.command(aliceSlack, "ack 42")
		if w.Code != http.StatusUnauthorized {
			t.Errorf("status = %d", w.Code)
		}
		env.noCalls()
	})
}

func TestAckButtonRerendersTheIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		acked(t, env.click(bobSlack, ActionAck, "42"))
		p := env.onlyPost(buttonResponseURL)

		want := checkoutIncident()
		want.Status, want.AcknowledgedBy, want.AcknowledgedAt = escalation.StatusAcknowledged, "bob", fakeNow()
		if p.ReplaceOriginal == nil || !*p.ReplaceOriginal || p.Text != IncidentText(want) {
			t.Errorf("post = replace %v text %q", p.ReplaceOriginal, p.Text)
		}
		if got, wantBlocks := compactJSON(t, p.Blocks), compactJSON(t, marshalBlocks(t, IncidentBlocks(want))); got != wantBlocks {
			t.Errorf("blocks\n got %s\nwant %s", got, wantBlocks)
		}
		if want := fixtureKeys(t, "slack_response_url_update.constructed.json"); !slices.Equal(p.keys, want) {
			t.Errorf("post keys = %q, want Slack's %q", p.keys, want)
		}
		if got := env.eng.Calls(); !slices.Equal(got, []string{"ack 42 bob/slack"}) {
			t.Errorf("calls = %q", got)
		}
		if log := env.log.String(); !strings.Contains(log, "source=button") || !strings.Contains(log, `msg="slack command executed"`) {
			t.Errorf("log:\n%s", log)
		}
	})
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestResolveButtonRemovesTheButtons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		acked(t, env.click(aliceSlack, ActionResolve, "42"))
		p := env.onlyPost(buttonResponseURL)
		if !strings.Contains(p.Text, "resolved by alice") || strings.Contains(string(p.Blocks), `"actions"`) {
			t.Errorf("post = %q %s", p.Text, p.Blocks)
		}
		if got := env.eng.Calls(); !slices.Equal(got, []string{`resolve 42 alice/slack ""`}) {
			t.Errorf("calls = %q", got)
		}
	})
}

// A click means what typing its text means: whatever the grammar and
// Execute make of "escalate 42", the button does the same.
func TestEscalateButtonMeansTypingEscalate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		typed := newSlackEnv(t, testPeople())
		said := answer(t, typed.command(aliceSlack, "escalate 42"))
		typed.h.Wait()

		env := newSlackEnv(t, testPeople())
		acked(t, env.click(aliceSlack, ActionEscalate, "42"))
		p := env.onlyPost(buttonResponseURL)
		if got, want := env.eng.Calls(), typed.eng.Calls(); !slices.Equal(got, want) {
			t.Errorf("button calls %q, typed command calls %q", got, want)
		}
		if said.ResponseType == "in_channel" {
			// It worked: the message shows the incident as it is now.
			if p.ReplaceOriginal == nil || !*p.ReplaceOriginal || len(p.Blocks) == 0 {
				t.Errorf("post = %+v, want the incident re-rendered", p)
			}
			return
		}
		if p.ResponseType != "ephemeral" || p.Text != said.Text || p.ReplaceOriginal == nil || *p.ReplaceOriginal {
			t.Errorf("post = %+v, want the typed command's refusal %q beside the message", p, said.Text)
		}
	})
}

func TestUnknownSlackUserCannotClickAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		acked(t, env.click(strangerID, ActionAck, "42"))
		p := env.onlyPost(buttonResponseURL)
		if p.ResponseType != "ephemeral" || p.Text != unknownUserReply(strangerID) {
			t.Errorf("post = %+v", p)
		}
		// The incident message stays as it is.
		if p.ReplaceOriginal == nil || *p.ReplaceOriginal || len(p.Blocks) != 0 {
			t.Errorf("post would replace the incident: %+v", p)
		}
		env.noCalls()
	})
}

func TestButtonRefusalRepliesBesideTheMessage(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"conflict", "43", "incident #43 is already acknowledged by bob"},
		{"internal", "44", internalReply},
		{"panic", "666", internalReply},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				acked(t, env.click(aliceSlack, ActionAck, tc.value))
				p := env.onlyPost(buttonResponseURL)
				if p.ResponseType != "ephemeral" || p.Text != tc.want || p.ReplaceOriginal == nil || *p.ReplaceOriginal {
					t.Errorf("post = %+v, want ephemeral %q", p, tc.want)
				}
				if got := env.eng.Calls(); !slices.Equal(got, []string{"ack " + tc.value + " alice/slack"}) {
					t.Errorf("calls = %q", got)
				}
			})
		})
	}
}

func TestButtonFallsBackToTextWhenTheIncidentCannotBeRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		acked(t, env.click(aliceSlack, ActionAck, "47"))
		p := env.onlyPost(buttonResponseURL)
		if p.ResponseType != "ephemeral" || p.Text != "Acknowledged #47 Queue backlog. Paging stopped." || p.ReplaceOriginal == nil || *p.ReplaceOriginal {
			t.Errorf("post = %+v", p)
		}
		if log := env.log.String(); !strings.Contains(log, "bbolt: read failed") || !strings.Contains(log, "level=ERROR") {
			t.Errorf("log:\n%s", log)
		}
	})
}

func TestSlowButtonIsAnsweredAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.eng.gate = make(chan struct{})
		start := time.Now()
		acked(t, env.click(aliceSlack, ActionAck, "42"))
		if waited := time.Since(start); waited != 0 {
			t.Errorf("click answered after %s", waited)
		}
		synctest.Wait()
		if posts := env.hooks.Posts(); len(posts) != 0 {
			t.Fatalf("replied before the command finished: %+v", posts)
		}
		close(env.eng.gate)
		if p := env.onlyPost(buttonResponseURL); p.ReplaceOriginal == nil || !*p.ReplaceOriginal {
			t.Errorf("post = %+v", p)
		}
	})
}

func TestButtonReplyGoesOnlyToSlack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		body := clickPayload(t, aliceSlack, ActionAck, "42", func(p map[string]any) {
			p["response_url"] = "https://hooks.slack.com.attacker.example/actions/1"
		})
		acked(t, env.sendSigned("/slack/interactions", body))
		env.noPosts()
		// The click itself was genuine.
		if got := env.eng.Calls(); !slices.Equal(got, []string{"ack 42 alice/slack"}) {
			t.Errorf("calls = %q", got)
		}
		if log := env.log.String(); !strings.Contains(log, "is not Slack's") {
			t.Errorf("log:\n%s", log)
		}
	})
}

func TestInteractionsKlaxonDoesNotOwnAreIgnored(t *testing.T) {
	cases := []struct {
		name string
		body func(t *testing.T) string
	}{
		{"docs button", func(t *testing.T) string {
			return url.Values{"payload": {string(readTestdata(t, "slack_block_actions_payload.json"))}}.Encode()
		}},
		{"home tab button", func(t *testing.T) string {
			return url.Values{"payload": {string(readTestdata(t, "slack_block_actions_home_tab_payload.json"))}}.Encode()
		}},
		{"view submission", func(t *testing.T) string {
			return url.Values{"payload": {`{"type":"view_submission","user":{"id":"UA8RXUSPL"},"view":{"id":"V1"}}`}}.Encode()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				acked(t, env.sendSigned("/slack/interactions", tc.body(t)))
				env.noCalls()
				env.noPosts()
				if !strings.Contains(env.log.String(), "slack interaction ignored") {
					t.Errorf("log:\n%s", env.log)
				}
			})
		})
	}
}

func TestSignedDocsButtonFixture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSlackEnv(t, testPeople())
		env.h.secret = docsSecret
		// Signed by the constructed vector; its "WaXA" button is not Klaxon's.
		const sig = "v0=e116d356ee8888f81c053ddf1195ebce9c1607c4f2e27c4ff76119e57909862c"
		body := string(readTestdata(t, "slack_block_actions_request_body.txt"))
		acked(t, env.send("/slack/interactions", body, slackHeader(strconv.Itoa(docsTimestamp), sig)))
		env.noCalls()
		if log := env.log.String(); !strings.Contains(log, `reason="action \"WaXA\" is not Klaxon's"`) {
			t.Errorf("log:\n%s", log)
		}
	})
}

func TestInteractionRejects(t *testing.T) {
	cases := []struct {
		name     string
		send     func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder
		status   int
		wantBody string
	}{
		{"unsigned", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.send("/slack/interactions", clickPayload(t, aliceSlack, ActionAck, "42", nil), nil)
		}, 401, "missing X-Slack-Request-Timestamp"},
		{"tampered action", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			signed := clickPayload(t, aliceSlack, ActionAck, "42", nil)
			ts := env.clock.Now().Unix()
			return env.send("/slack/interactions", clickPayload(t, aliceSlack, ActionResolve, "42", nil),
				slackHeader(strconv.FormatInt(ts, 10), testSign(testSecret, ts, signed)))
		}, 401, "does not match"},
		{"no payload", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", "action=ack&value=42")
		}, 400, "interaction has no payload"},
		{"payload not JSON", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", url.Values{"payload": {"{ack 42"}}.Encode())
		}, 400, "interaction payload is not valid JSON"},
		{"no actions", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", clickPayload(t, aliceSlack, ActionAck, "42", func(p map[string]any) { p["actions"] = []any{} }))
		}, 400, "block_actions payload has no actions"},
		{"no user", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", clickPayload(t, "", ActionAck, "42", nil))
		}, 400, "block_actions payload has no user"},
		{"ack all by button", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", clickPayload(t, aliceSlack, ActionAck, "all", nil))
		}, 400, `ack button value "all" is not an incident id`},
		{"value with a note", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", clickPayload(t, aliceSlack, ActionResolve, "42 because", nil))
		}, 400, `resolve button value "42 because" is not an incident id`},
		{"too large", func(t *testing.T, env *slackEnv) *httptest.ResponseRecorder {
			return env.sendSigned("/slack/interactions", clickPayload(t, aliceSlack, ActionAck, "42", func(p map[string]any) {
				p["padding"] = strings.Repeat("x", maxInteractionBody)
			}))
		}, 413, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newSlackEnv(t, testPeople())
				w := tc.send(t, env)
				if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.wantBody) {
					t.Errorf("answer = %d %q, want %d %q", w.Code, w.Body, tc.status, tc.wantBody)
				}
				env.noCalls()
				env.noPosts()
			})
		})
	}
}

func TestStaticPeople(t *testing.T) {
	p := StaticPeople{"U1": "alice", "U2": ""}
	if name, ok := p.PersonBySlackID("U1"); !ok || name != "alice" {
		t.Errorf("U1 = %q %v", name, ok)
	}
	for _, id := range []string{"U2", "U3", ""} {
		if name, ok := p.PersonBySlackID(id); ok {
			t.Errorf("%q is %q", id, name)
		}
	}
}
