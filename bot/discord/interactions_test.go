package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
)

const (
	// The users of the fixtures: Mason presses buttons and types commands in
	// a guild (member.user), CHL in a DM (user).
	aliceDiscordID = "53908232506183680"
	bobDiscordID   = "505584960997031947"
	// The RFC 8032 test key of the constructed signature vector signs the
	// requests the tests make up.
	testSeed      = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	testTimestamp = "1700000000"
	testBudget    = 1500 * time.Millisecond
)

// The real core must satisfy the handler's view of it.
var _ Engine = (*escalation.Engine)(nil)

// The REST client delivers deferred answers.
var _ Followups = (*Client)(nil)

// fakeEngine records the actions the handler takes and keeps incidents so a
// button's message can be redrawn.
type fakeEngine struct {
	// The commands these tests send use only the methods below; any other
	// would panic on this nil interface.
	bot.Engine
	mu        sync.Mutex
	calls     []string
	incidents map[int64]*escalation.Incident
	errs      map[int64]error // from Acknowledge/Resolve
	lookupErr map[int64]error // from Incident
	events    map[int64][]escalation.Event
	// gate, when set, holds Acknowledge and Resolve until it is closed:
	// the engine is slow.
	gate chan struct{}
	// panicOn makes Acknowledge panic for that incident.
	panicOn int64
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		incidents: map[int64]*escalation.Incident{
			41: {ID: 41, Title: "Disk full on db-1", Status: escalation.StatusTriggered, Service: "db", Priority: escalation.P2},
			42: incidentAt(escalation.StatusTriggered),
		},
		errs: map[int64]error{
			43: escalation.Errorf(escalation.CodeConflict, "incident #43 is already acknowledged by bob"),
			44: errors.New("bbolt: disk I/O error"),
			45: escalation.Errorf(escalation.CodeNotFound, "incident #45 does not exist"),
		},
		lookupErr: map[int64]error{},
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

func (f *fakeEngine) act(id int64, change func(*escalation.Incident)) (*escalation.Incident, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicOn == id {
		panic(fmt.Sprintf("corrupt incident %d", id))
	}
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	inc, ok := f.incidents[id]
	if !ok {
		return nil, escalation.Errorf(escalation.CodeNotFound, "incident #%d does not exist", id)
	}
	next := *inc
	change(&next)
	f.incidents[id] = &next
	return &next, nil
}

func (f *fakeEngine) Acknowledge(_ context.Context, id int64, a escalation.Actor) (*escalation.Incident, error) {
	f.record("ack %d %s/%s", id, a.Name, a.Via)
	return f.act(id, func(inc *escalation.Incident) {
		inc.Status, inc.AcknowledgedBy = escalation.StatusAcknowledged, a.Name
	})
}

func (f *fakeEngine) Resolve(_ context.Context, id int64, a escalation.Actor, note string) (*escalation.Incident, error) {
	f.record("resolve %d %s/%s %q", id, a.Name, a.Via, note)
	return f.act(id, func(inc *escalation.Incident) {
		inc.Status, inc.ResolvedBy = escalation.StatusResolved, a.Name
	})
}

func (f *fakeEngine) Incidents(_ context.Context, status escalation.Status, _ int) ([]*escalation.Incident, error) {
	f.record("incidents %s", status)
	return []*escalation.Incident{{ID: 42}, {ID: 41}}, nil
}

func (f *fakeEngine) LatestPageTo(_ context.Context, person string) (*escalation.Page, error) {
	f.record("latest %s", person)
	if person == "alice" {
		return &escalation.Page{ID: 5, IncidentID: 41, Person: "alice"}, nil
	}
	return nil, fmt.Errorf("latest page to %s: %w", person, escalation.ErrNotFound)
}

func (f *fakeEngine) Escalate(_ context.Context, id int64, level int, a escalation.Actor) (*escalation.Incident, error) {
	f.record("escalate %d %d %s/%s", id, level, a.Name, a.Via)
	return f.act(id, func(inc *escalation.Incident) { inc.Escalation.Level++ })
}

// Incident is a read, not an action; it is not recorded.
func (f *fakeEngine) Incident(_ context.Context, id int64) (*escalation.Incident, []escalation.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.lookupErr[id]; err != nil {
		return nil, nil, err
	}
	inc, ok := f.incidents[id]
	if !ok {
		return nil, nil, escalation.Errorf(escalation.CodeNotFound, "incident #%d does not exist", id)
	}
	c := *inc
	return &c, f.events[id], nil
}

func (f *fakeEngine) slow() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
	return f.gate
}

// people is the directory of the tests: alice and bob have linked their
// Discord accounts.
func people() People {
	return PeopleFunc(func(userID string) (string, bool) {
		switch userID {
		case aliceDiscordID:
			return "alice", true
		case bobDiscordID:
			return "bob", true
		}
		return "", false
	})
}

// hookEnv is a mux with the interactions endpoint and what it talks to.
type hookEnv struct {
	mux     *http.ServeMux
	h       *Handler
	eng     *fakeEngine
	discord *fakeDiscord
	key     ed25519.PrivateKey
	log     *logBuffer
	// clock is the endpoint's now, for the signature's window: the
	// moment testTimestamp was signed.
	clock *escalation.ManualClock
	// budgets records the budget of every timer the handler started;
	// deadline is the channel those timers fire on. Closed, the budget is
	// spent at once; left open, it never is.
	mu       sync.Mutex
	budgets  []time.Duration
	deadline chan time.Time
}

func newHookEnv(t *testing.T, budget time.Duration) *hookEnv {
	t.Helper()
	seed, err := hex.DecodeString(testSeed)
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	env := newHookEnvWithKey(t, key.Public().(ed25519.PublicKey), budget, unixAt(t, testTimestamp))
	env.key = key
	return env
}

// newHookEnvWithKey is an endpoint that trusts pub, its clock at now;
// only requests signed with pub's private key pass.
func newHookEnvWithKey(t *testing.T, pub ed25519.PublicKey, budget time.Duration, now time.Time) *hookEnv {
	t.Helper()
	client, discord := newTestClient(t)
	env := &hookEnv{
		mux: http.NewServeMux(), eng: newFakeEngine(), discord: discord,
		log: &logBuffer{changed: make(chan struct{}, 1)}, deadline: make(chan time.Time),
		clock: escalation.NewManualClock(now),
	}
	log := slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := NewHandler(HandlerOptions{
		PublicKey: pub, AppID: testAppID, Engine: env.eng, People: people(), Followups: client, Log: log, Budget: budget,
		Clock: env.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.after = func(d time.Duration) <-chan time.Time {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.budgets = append(env.budgets, d)
		return env.deadline
	}
	env.h = h
	h.Register(env.mux)
	t.Cleanup(func() {
		if logged := env.Log(); strings.Contains(logged, testBotToken) || strings.Contains(logged, "A_UNIQUE_TOKEN") ||
			strings.Contains(logged, "unique_interaction_token") {
			t.Errorf("log holds a token:\n%s", logged)
		}
	})
	return env
}

// logBuffer is the log; the background delivery writes it while a test
// reads it, and each write wakes a test waiting for a line.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (env *hookEnv) Log() string { return env.log.String() }

// waitLog waits until the log says msg: work in the background is done.
func (env *hookEnv) waitLog(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !strings.Contains(env.Log(), msg) {
		select {
		case <-env.log.changed:
		case <-timeout:
			t.Fatalf("log never said %q:\n%s", msg, env.Log())
		}
	}
}

// spendBudget makes every command that is still running miss the budget.
func (env *hookEnv) spendBudget() { close(env.deadline) }

func (env *hookEnv) Budgets() []time.Duration {
	env.mu.Lock()
	defer env.mu.Unlock()
	return append([]time.Duration(nil), env.budgets...)
}

// send posts body with the given signature headers.
func (env *hookEnv) send(body []byte, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, InteractionsPath, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	env.mux.ServeHTTP(w, r)
	return w
}

// post signs body as Discord does and sends it.
func (env *hookEnv) post(body []byte) *httptest.ResponseRecorder {
	msg := append([]byte(testTimestamp), body...)
	return env.send(body, signedHeader(testTimestamp, hex.EncodeToString(ed25519.Sign(env.key, msg))))
}

// editFixture decodes a fixture, lets edit change it and encodes it again.
func editFixture(t *testing.T, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(t, name), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slashCommand is the fixture's guild command turned into "/klaxon <line>".
func slashCommand(t *testing.T, line string) []byte {
	return editFixture(t, "discord_application_command.json", func(m map[string]any) {
		data := m["data"].(map[string]any)
		data["name"] = "klaxon"
		data["options"] = []any{map[string]any{"type": 3, "name": "command", "value": line}}
	})
}

// dmCommand is "/klaxon <line>" typed in a DM with the bot, by bob.
func dmCommand(t *testing.T, line string) []byte {
	var m map[string]any
	if err := json.Unmarshal(slashCommand(t, line), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "member")
	delete(m, "guild_id")
	m["user"] = map[string]any{"id": bobDiscordID, "username": "CHL"}
	b, _ := json.Marshal(m)
	return b
}

// buttonPress is the fixture's button click with another custom_id.
func buttonPress(t *testing.T, customID string) []byte {
	return editFixture(t, "discord_message_component.json", func(m map[string]any) {
		m["data"].(map[string]any)["custom_id"] = customID
	})
}

// decode reads a 200 JSON answer.
func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, w.Body)
	}
	return m
}

// shape is a JSON value with its leaves replaced by their kind and arrays by
// the union of their elements' shapes.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = shape(e)
		}
		return out
	case []any:
		union := map[string]any{}
		var leaf any
		for _, e := range v {
			if m, ok := shape(e).(map[string]any); ok {
				for k, s := range m {
					union[k] = s
				}
			} else {
				leaf = shape(e)
			}
		}
		if leaf != nil {
			return []any{leaf}
		}
		return []any{union}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// subShape reports the first path where got has what want's shape lacks.
func subShape(got, want any, path string) string {
	switch g := got.(type) {
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			return path + " is an object"
		}
		for k, s := range g {
			ws, ok := w[k]
			if !ok {
				return path + "." + k + " is not in the fixture"
			}
			if p := subShape(s, ws, path+"."+k); p != "" {
				return p
			}
		}
		return ""
	case []any:
		w, ok := want.([]any)
		if !ok {
			return path + " is an array"
		}
		if len(g) == 0 || len(w) == 0 {
			return ""
		}
		if m, ok := g[0].(map[string]any); ok && len(m) == 0 {
			return "" // an empty array
		}
		return subShape(g[0], w[0], path+"[]")
	}
	if got != want {
		return fmt.Sprintf("%s is a %v, the fixture's a %v", path, got, want)
	}
	return ""
}

// likeFixture fails unless every field of the answer is in the fixture, of
// the same kind; with exact, the fixture must have no other fields either.
func likeFixture(t *testing.T, answer map[string]any, fixture string, exact bool) {
	t.Helper()
	var f any
	if err := json.Unmarshal(readTestdata(t, fixture), &f); err != nil {
		t.Fatal(err)
	}
	if p := subShape(shape(answer), shape(f), "answer"); p != "" {
		t.Errorf("answer unlike %s: %s\n%v", fixture, p, answer)
	}
	if exact {
		if p := subShape(shape(f), shape(answer), "fixture"); p != "" {
			t.Errorf("answer lacks a field of %s: %s", fixture, p)
		}
	}
}

// reply is an answer of type 4: its text and whether it is ephemeral.
func reply(t *testing.T, answer map[string]any) (string, bool) {
	t.Helper()
	if answer["type"] != float64(4) {
		t.Fatalf("answer type = %v, want 4: %v", answer["type"], answer)
	}
	data, _ := answer["data"].(map[string]any)
	text, _ := data["content"].(string)
	return text, data["flags"] == float64(64)
}

func TestRealDiscordPingIsAnsweredWithPong(t *testing.T) {
	v := signatureVectors(t)[0]
	env := newHookEnvWithKey(t, mustKey(t, v.PublicKey), 0, unixAt(t, v.Timestamp).Add(3*time.Second)) // as it arrived
	w := env.send(readTestdata(t, "discord_ping_signed.json"), signedHeader(v.Timestamp, v.Signature))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %q", w.Code, w.Body)
	}
	sameJSON(t, "PONG", w.Body.String(), string(readTestdata(t, "discord_response_pong.json")))
}

func TestBadSignatureIsRejectedSoDiscordKeepsTheEndpoint(t *testing.T) {
	ack := slashCommand(t, "ack 42")
	sig := func(env *hookEnv, ts string, body []byte) string {
		return hex.EncodeToString(ed25519.Sign(env.key, append([]byte(ts), body...)))
	}
	_, otherKey, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	cases := []struct {
		name string
		send func(env *hookEnv) *httptest.ResponseRecorder
	}{
		{"no headers", func(env *hookEnv) *httptest.ResponseRecorder { return env.send(ack, nil) }},
		{"no signature", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(ack, signedHeader(testTimestamp, ""))
		}},
		{"no timestamp", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(ack, signedHeader("", sig(env, testTimestamp, ack)))
		}},
		{"signature not hex", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(ack, signedHeader(testTimestamp, strings.Repeat("g", 128)))
		}},
		{"signature too short", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(ack, signedHeader(testTimestamp, sig(env, testTimestamp, ack)[:64]))
		}},
		{"signed by another key", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(ack, signedHeader(testTimestamp, hex.EncodeToString(ed25519.Sign(otherKey, append([]byte(testTimestamp), ack...)))))
		}},
		{"other timestamp", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(ack, signedHeader("1700000001", sig(env, testTimestamp, ack)))
		}},
		{"captured and replayed six minutes later", func(env *hookEnv) *httptest.ResponseRecorder {
			env.clock.Advance(6 * time.Minute)
			return env.send(ack, signedHeader(testTimestamp, sig(env, testTimestamp, ack)))
		}},
		{"timestamp from the future", func(env *hookEnv) *httptest.ResponseRecorder {
			env.clock.Advance(-6 * time.Minute)
			return env.send(ack, signedHeader(testTimestamp, sig(env, testTimestamp, ack)))
		}},
		{"tampered command", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.send(slashCommand(t, "resolve 42"), signedHeader(testTimestamp, sig(env, testTimestamp, ack)))
		}},
		{"tampered button", func(env *hookEnv) *httptest.ResponseRecorder {
			press := buttonPress(t, "ack:42")
			return env.send(buttonPress(t, "resolve:42"), signedHeader(testTimestamp, sig(env, testTimestamp, press)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, 0)
			env.spendBudget()
			w := tc.send(env)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401 (body %q)", w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), `"type"`) {
				t.Errorf("rejected request got an interaction answer: %s", w.Body)
			}
			if calls := env.eng.Calls(); len(calls) != 0 {
				t.Errorf("engine was called: %q", calls)
			}
			if calls := env.discord.Calls(); len(calls) != 0 {
				t.Errorf("Discord was called: %v", calls)
			}
			if log := env.Log(); !strings.Contains(log, "discord interaction rejected") || strings.Contains(log, "ack 42") {
				t.Errorf("log should say why, without the body:\n%s", log)
			}
		})
	}
	// Discord's own probes look like these: the invalid published vectors,
	// sent to an endpoint with the key each was checked against.
	for _, v := range signatureVectors(t) {
		if v.ExpectValid {
			continue
		}
		t.Run("vector "+v.Name, func(t *testing.T) {
			env := newHookEnvWithKey(t, mustKey(t, v.PublicKey), 0, unixAt(t, v.Timestamp))
			w := env.send([]byte(v.Body), signedHeader(v.Timestamp, v.Signature))
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401 (body %q)", w.Code, w.Body)
			}
		})
	}
}

func TestSignedPingIsAnsweredWithPong(t *testing.T) {
	env := newHookEnv(t, 0)
	w := env.post([]byte(`{"type":1,"id":"1","application_id":"` + testAppID + `","token":"t","version":1}`))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	sameJSON(t, "PONG", w.Body.String(), string(readTestdata(t, "discord_response_pong.json")))
	if calls := env.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine was called: %q", calls)
	}
}

func TestSlashCommandActsAsTheDiscordUser(t *testing.T) {
	cases := []struct {
		name      string
		body      func(t *testing.T) []byte
		wantCalls []string
		wantReply string
	}{
		{"ack in a guild", func(t *testing.T) []byte { return slashCommand(t, "ack 42") },
			[]string{"ack 42 alice/discord"}, "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."},
		{"short form", func(t *testing.T) []byte { return slashCommand(t, "a42") },
			[]string{"ack 42 alice/discord"}, "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."},
		{"ack the latest page", func(t *testing.T) []byte { return slashCommand(t, "ack") },
			[]string{"latest alice", "ack 41 alice/discord"}, "Acknowledged #41 Disk full on db-1. Paging stopped."},
		{"resolve with a note", func(t *testing.T) []byte { return slashCommand(t, "resolve 42 rolled back") },
			[]string{`resolve 42 alice/discord "rolled back"`}, "Resolved #42 HighErrorRate on checkout-api."},
		{"ack all from a DM", func(t *testing.T) []byte { return dmCommand(t, "ack all") },
			[]string{"incidents triggered", "ack 42 bob/discord", "ack 41 bob/discord"}, "Acknowledged 2 incident(s). Paging stopped."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, 0)
			answer := decode(t, env.post(tc.body(t)))
			text, private := reply(t, answer)
			if text != tc.wantReply || private {
				t.Errorf("reply = %q (ephemeral %v), want public %q", text, private, tc.wantReply)
			}
			if got := env.eng.Calls(); strings.Join(got, "; ") != strings.Join(tc.wantCalls, "; ") {
				t.Errorf("calls = %q, want %q", got, tc.wantCalls)
			}
			likeFixture(t, answer, "discord_response_channel_message.json", false)
			if calls := env.discord.Calls(); len(calls) != 0 {
				t.Errorf("a fast command called Discord: %v", calls)
			}
		})
	}
}

// The channel a responder types in may be the one customers read: an
// incident's timeline holds internal notes and a failed page's reason,
// which names the person's phone number, so answers to questions are for
// the asker alone, as on Slack.
func TestAnswersToQuestionsStayWithTheAsker(t *testing.T) {
	for _, line := range []string{"incident 42", "incidents", "help"} {
		t.Run(line, func(t *testing.T) {
			env := newHookEnv(t, 0)
			env.eng.events = map[int64][]escalation.Event{42: {
				{Kind: escalation.EventNote, Actor: "bob", Message: "rotated the customer db password"},
				{Kind: escalation.EventPageFailed, Person: "bob", Channel: "sms", Message: "twilio 21211: The 'To' number +46701740606 is not a valid phone number"},
			}}
			text, private := reply(t, decode(t, env.post(slashCommand(t, line))))
			if !private {
				t.Errorf("answer to %q shows to the channel: %q", line, text)
			}
		})
	}
}

func TestCommandLogNamesWhoActed(t *testing.T) {
	env := newHookEnv(t, 0)
	decode(t, env.post(slashCommand(t, "ack 42")))
	for _, want := range []string{"level=INFO", `msg="discord command executed"`, "person=alice", "incident_id=42", "interaction_id=786008729715212338"} {
		if !strings.Contains(env.Log(), want) {
			t.Errorf("log lacks %s:\n%s", want, env.Log())
		}
	}
}

func TestUnknownDiscordUserIsToldToAskAnAdmin(t *testing.T) {
	for _, body := range map[string]func(t *testing.T) []byte{
		"command": func(t *testing.T) []byte {
			return editFixture(t, "discord_application_command.json", func(m map[string]any) {
				m["data"].(map[string]any)["name"] = "klaxon"
				m["member"].(map[string]any)["user"].(map[string]any)["id"] = "111111111111111111"
			})
		},
		"button": func(t *testing.T) []byte {
			return editFixture(t, "discord_message_component.json", func(m map[string]any) {
				m["data"].(map[string]any)["custom_id"] = "ack:42"
				m["member"].(map[string]any)["user"].(map[string]any)["id"] = "111111111111111111"
			})
		},
	} {
		env := newHookEnv(t, 0)
		answer := decode(t, env.post(body(t)))
		text, private := reply(t, answer)
		want := "You are not a Klaxon responder. Ask your Klaxon admin to add your Discord user id 111111111111111111 to your Klaxon profile."
		if text != want || !private {
			t.Errorf("reply = %q (ephemeral %v), want ephemeral %q", text, private, want)
		}
		likeFixture(t, answer, "discord_response_channel_message_ephemeral.constructed.json", true)
		if calls := env.eng.Calls(); len(calls) != 0 {
			t.Errorf("engine was called: %q", calls)
		}
	}
}

func TestCommandErrorsAreOneLinePrivateReplies(t *testing.T) {
	cases := []struct {
		name      string
		body      func(t *testing.T) []byte
		wantCalls []string
		wantReply string
	}{
		{"not a command", func(t *testing.T) []byte { return slashCommand(t, "lol what") },
			nil, `unknown command "lol"; ` + bot.Usage},
		{"bad id", func(t *testing.T) []byte { return slashCommand(t, "ack forty-two") },
			nil, `"forty-two" is not an incident ID; try "ack 42" or "ack all"`},
		{"no option", func(t *testing.T) []byte {
			return editFixture(t, "discord_application_command.json", func(m map[string]any) {
				data := m["data"].(map[string]any)
				data["name"], data["options"] = "klaxon", nil
			})
		}, nil, "empty command; " + bot.Usage},
		{"another app's command", func(t *testing.T) []byte { return readTestdata(t, "discord_application_command.json") },
			nil, "Klaxon answers /klaxon only, not /cardsearch."},
		{"help", func(t *testing.T) []byte { return slashCommand(t, "help") }, nil, bot.Usage},
		{"already acknowledged", func(t *testing.T) []byte { return slashCommand(t, "ack 43") },
			[]string{"ack 43 alice/discord"}, "incident #43 is already acknowledged by bob"},
		{"no such incident", func(t *testing.T) []byte { return slashCommand(t, "resolve 45") },
			[]string{`resolve 45 alice/discord ""`}, "incident #45 does not exist"},
		{"not paged lately", func(t *testing.T) []byte { return dmCommand(t, "ack") },
			[]string{"latest bob"}, `you have not been paged recently; name the incident, e.g. "ack 42"`},
		{"internal error", func(t *testing.T) []byte { return slashCommand(t, "ack 44") },
			[]string{"ack 44 alice/discord"}, internalReply},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, 0)
			answer := decode(t, env.post(tc.body(t)))
			text, private := reply(t, answer)
			if text != tc.wantReply || !private {
				t.Errorf("reply = %q (ephemeral %v), want ephemeral %q", text, private, tc.wantReply)
			}
			if strings.Contains(text, "\n") {
				t.Errorf("reply is more than one line: %q", text)
			}
			if got := env.eng.Calls(); strings.Join(got, "; ") != strings.Join(tc.wantCalls, "; ") {
				t.Errorf("calls = %q, want %q", got, tc.wantCalls)
			}
			likeFixture(t, answer, "discord_response_channel_message_ephemeral.constructed.json", true)
		})
	}
}

func TestInternalErrorIsLoggedNotShown(t *testing.T) {
	env := newHookEnv(t, 0)
	text, _ := reply(t, decode(t, env.post(slashCommand(t, "ack 44"))))
	if strings.Contains(text, "bbolt") {
		t.Errorf("reply shows the internal error: %q", text)
	}
	if log := env.Log(); !strings.Contains(log, "bbolt: disk I/O error") || !strings.Contains(log, "level=ERROR") {
		t.Errorf("internal error not logged:\n%s", log)
	}
}

// answerButtons lists the custom IDs of an answer's buttons.
func answerButtons(answer map[string]any) []string {
	var ids []string
	data, _ := answer["data"].(map[string]any)
	rows, _ := data["components"].([]any)
	for _, r := range rows {
		row, _ := r.(map[string]any)
		buttons, _ := row["components"].([]any)
		for _, b := range buttons {
			button, _ := b.(map[string]any)
			ids = append(ids, fmt.Sprint(button["custom_id"]))
		}
	}
	return ids
}

func TestButtonAcknowledgesAndRedrawsTheIncident(t *testing.T) {
	env := newHookEnv(t, 0)
	w := env.post(buttonPress(t, "ack:42"))
	answer := decode(t, w)
	if answer["type"] != float64(7) {
		t.Fatalf("answer type = %v, want 7 (UPDATE_MESSAGE): %s", answer["type"], w.Body)
	}
	if got := env.eng.Calls(); len(got) != 1 || got[0] != "ack 42 alice/discord" {
		t.Errorf("calls = %q", got)
	}
	// The message is the incident as it is now: acknowledged by alice,
	// without the Acknowledge button.
	acked := incidentAt(escalation.StatusAcknowledged)
	embeds, components := IncidentMessage(acked)
	want, _ := json.Marshal(map[string]any{"type": 7, "data": map[string]any{
		"embeds": embeds, "components": components, "allowed_mentions": map[string]any{"parse": []any{}},
	}})
	sameJSON(t, "UPDATE_MESSAGE", w.Body.String(), string(want))
	if got := strings.Join(answerButtons(answer), " "); got != "resolve:42 escalate:42" {
		t.Errorf("buttons = %q", got)
	}
	// The buttons are shaped like the fixture's; the embeds replace its
	// content.
	data := answer["data"].(map[string]any)
	likeFixture(t, map[string]any{"type": answer["type"], "data": map[string]any{
		"components": data["components"], "allowed_mentions": data["allowed_mentions"],
	}}, "discord_response_update_message.constructed.json", false)
}

func TestResolveButtonRemovesTheButtons(t *testing.T) {
	env := newHookEnv(t, 0)
	answer := decode(t, env.post(buttonPress(t, "resolve:42")))
	data := answer["data"].(map[string]any)
	if answer["type"] != float64(7) || data["components"] == nil || len(answerButtons(answer)) != 0 {
		t.Errorf("answer = %v, want type 7 with \"components\": []", answer)
	}
	if got := env.eng.Calls(); len(got) != 1 || got[0] != `resolve 42 alice/discord ""` {
		t.Errorf("calls = %q", got)
	}
}

func TestEscalateButtonGoesThroughTheOneGrammar(t *testing.T) {
	env := newHookEnv(t, 0)
	answer := decode(t, env.post(buttonPress(t, "escalate:42")))
	if _, parseErr := bot.Parse("escalate 42"); parseErr != nil {
		// A grammar without escalate answers for the button too.
		text, private := reply(t, answer)
		if text != parseErr.Error() || !private {
			t.Errorf("reply = %q (ephemeral %v), want the grammar's %q", text, private, parseErr)
		}
		if calls := env.eng.Calls(); len(calls) != 0 {
			t.Errorf("engine was called: %q", calls)
		}
		return
	}
	if answer["type"] != float64(7) {
		t.Fatalf("answer = %v, want the incident redrawn", answer)
	}
	if got := env.eng.Calls(); len(got) != 1 || got[0] != "escalate 42 0 alice/discord" {
		t.Errorf("calls = %q", got)
	}
}

func TestMentionsInACommandBecomeKlaxonNames(t *testing.T) {
	env := newHookEnv(t, 0)
	// Discord sends "@CHL" typed in the option as <@505584960997031947>.
	decode(t, env.post(slashCommand(t, "resolve 42 handed over to <@"+bobDiscordID+">")))
	if got := env.eng.Calls(); len(got) != 1 || got[0] != `resolve 42 alice/discord "handed over to @bob"` {
		t.Errorf("calls = %q", got)
	}
}

func TestButtonErrorIsAPrivateReply(t *testing.T) {
	env := newHookEnv(t, 0)
	answer := decode(t, env.post(buttonPress(t, "ack:43")))
	text, private := reply(t, answer)
	if text != "incident #43 is already acknowledged by bob" || !private {
		t.Errorf("reply = %q (ephemeral %v)", text, private)
	}
}

func TestButtonWhoseIncidentCannotBeReadStillReports(t *testing.T) {
	env := newHookEnv(t, 0)
	env.eng.lookupErr[42] = errors.New("bbolt: read failed")
	text, private := reply(t, decode(t, env.post(buttonPress(t, "ack:42"))))
	if text != "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped." || !private {
		t.Errorf("reply = %q (ephemeral %v)", text, private)
	}
}

func TestUnknownButtonsExecuteNothing(t *testing.T) {
	for _, customID := range []string{"click_one", "ack", "ack:", "ack:all", "ack:0", "ack:-1", "ack:42:x", "ack:4 2", "help:42", "resolve:42 note", "Ack:42"} {
		t.Run(customID, func(t *testing.T) {
			env := newHookEnv(t, 0)
			text, private := reply(t, decode(t, env.post(buttonPress(t, customID))))
			if text != unknownButton || !private {
				t.Errorf("reply = %q (ephemeral %v)", text, private)
			}
			if calls := env.eng.Calls(); len(calls) != 0 {
				t.Errorf("engine was called: %q", calls)
			}
		})
	}
	t.Run("select menu", func(t *testing.T) {
		env := newHookEnv(t, 0)
		body := editFixture(t, "discord_message_component.json", func(m map[string]any) {
			data := m["data"].(map[string]any)
			data["custom_id"], data["component_type"], data["values"] = "ack:42", 3, []any{"x"}
		})
		if text, _ := reply(t, decode(t, env.post(body))); text != unknownButton {
			t.Errorf("reply = %q", text)
		}
		if calls := env.eng.Calls(); len(calls) != 0 {
			t.Errorf("engine was called: %q", calls)
		}
	})
}

func TestFastCommandIsAnsweredInline(t *testing.T) {
	env := newHookEnv(t, 0)
	decode(t, env.post(slashCommand(t, "ack 42")))
	if got := env.Budgets(); len(got) != 1 || got[0] != DefaultBudget {
		t.Errorf("budgets = %v, want the default %v", got, DefaultBudget)
	}
}

func TestSlowCommandIsDeferredAndItsReplyEditedIn(t *testing.T) {
	env := newHookEnv(t, testBudget)
	env.discord.on("PATCH", "/api/v9/webhooks/"+testAppID+"/A_UNIQUE_TOKEN/messages/@original", discordReply{status: 200, body: messageJSON("1", "2")})
	release := env.eng.slow()
	env.spendBudget()

	w := env.post(slashCommand(t, "ack 42"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	sameJSON(t, "deferred answer", w.Body.String(), string(readTestdata(t, "discord_response_deferred.constructed.json")))
	if got := env.Budgets(); len(got) != 1 || got[0] != testBudget {
		t.Errorf("budgets = %v, want %v", got, testBudget)
	}
	if calls := env.discord.Calls(); len(calls) != 0 {
		t.Fatalf("Discord called before the command finished: %v", calls)
	}

	close(release)
	c := env.discord.next(t)
	checkCall(t, c, "PATCH", "/api/v9/webhooks/"+testAppID+"/A_UNIQUE_TOKEN/messages/@original",
		`{"content": "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped.", "allowed_mentions": `+noPingsJSON+`}`)
	if got := env.eng.Calls(); len(got) != 1 || got[0] != "ack 42 alice/discord" {
		t.Errorf("calls = %q", got)
	}
	env.waitLog(t, "deferred discord answer delivered")
}

func TestSlowButtonIsDeferredAndItsMessageRedrawn(t *testing.T) {
	env := newHookEnv(t, testBudget)
	original := "/api/v9/webhooks/" + testAppID + "/unique_interaction_token/messages/@original"
	env.discord.on("PATCH", original, discordReply{status: 200, body: messageJSON("844397162624450620", "345626669114982999")})
	release := env.eng.slow()
	env.spendBudget()

	w := env.post(buttonPress(t, "ack:42"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	sameJSON(t, "deferred update", w.Body.String(), `{"type": 6}`)

	close(release)
	embeds, components := IncidentMessage(incidentAt(escalation.StatusAcknowledged))
	want, _ := json.Marshal(map[string]any{"embeds": embeds, "components": components,
		"allowed_mentions": json.RawMessage(noPingsJSON)})
	checkCall(t, env.discord.next(t), "PATCH", original, string(want))
	env.waitLog(t, "deferred discord answer delivered")
}

func TestSlowButtonThatFailsIsFollowedUpPrivately(t *testing.T) {
	env := newHookEnv(t, testBudget)
	followUp := "/api/v9/webhooks/" + testAppID + "/unique_interaction_token"
	env.discord.on("POST", followUp, discordReply{status: 200, body: messageJSON("1", "2")})
	release := env.eng.slow()
	env.spendBudget()

	sameJSON(t, "deferred update", env.post(buttonPress(t, "ack:43")).Body.String(), `{"type": 6}`)
	close(release)
	// An error must not replace the incident's message: it goes to the
	// person who pressed the button, and only to them.
	checkCall(t, env.discord.next(t), "POST", followUp,
		`{"content": "incident #43 is already acknowledged by bob", "flags": 64, "allowed_mentions": `+noPingsJSON+`}`)
	env.waitLog(t, "deferred discord answer delivered")
}

func TestDeferredAnswerThatDiscordRefusesIsLogged(t *testing.T) {
	env := newHookEnv(t, testBudget)
	env.discord.on("PATCH", "/api/v9/webhooks/"+testAppID+"/A_UNIQUE_TOKEN/messages/@original",
		discordReply{status: 404, body: `{"message": "Unknown Webhook", "code": 10015}`})
	release := env.eng.slow()
	env.spendBudget()
	decode(t, env.post(slashCommand(t, "ack 42")))
	close(release)
	env.discord.next(t)
	env.waitLog(t, "delivering a deferred discord answer failed")
	if !strings.Contains(env.Log(), "Unknown Webhook") {
		t.Errorf("log lacks Discord's reason:\n%s", env.Log())
	}
}

func TestPanicInACommandIsContained(t *testing.T) {
	env := newHookEnv(t, 0)
	env.eng.panicOn = 42
	text, private := reply(t, decode(t, env.post(slashCommand(t, "ack 42"))))
	if text != internalReply || !private {
		t.Errorf("reply = %q (ephemeral %v)", text, private)
	}
	if log := env.Log(); !strings.Contains(log, "panic in discord command") || !strings.Contains(log, "corrupt incident 42") {
		t.Errorf("panic not logged:\n%s", log)
	}
	// Klaxon is still answering.
	if text, _ := reply(t, decode(t, env.post(slashCommand(t, "ack 41")))); !strings.HasPrefix(text, "Acknowledged #41") {
		t.Errorf("after the panic: %q", text)
	}
}

func TestPanicInTheHandlerIsA500NotACrash(t *testing.T) {
	env := newHookEnv(t, 0)
	env.h.people = PeopleFunc(func(string) (string, bool) { panic("directory corrupted") })
	w := env.post(slashCommand(t, "ack 42"))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", w.Code)
	}
	if !strings.Contains(env.Log(), "directory corrupted") {
		t.Errorf("panic not logged:\n%s", env.Log())
	}
	if calls := env.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine was called: %q", calls)
	}
}

func TestBadRequestsGetPreciseStatuses(t *testing.T) {
	cases := []struct {
		name   string
		send   func(env *hookEnv) *httptest.ResponseRecorder
		status int
		body   string
	}{
		{"signed but not JSON", func(env *hookEnv) *httptest.ResponseRecorder { return env.post([]byte(`{"type":`)) },
			400, "malformed interaction"},
		{"autocomplete", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.post(editFixture(t, "discord_application_command.json", func(m map[string]any) { m["type"] = 4 }))
		}, 400, "unsupported interaction type 4"},
		{"modal submit", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.post([]byte(`{"type":5,"id":"1","token":"t","member":{"user":{"id":"` + aliceDiscordID + `"}},"data":{"custom_id":"x"}}`))
		}, 400, "unsupported interaction type 5"},
		{"command without a user", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.post([]byte(`{"type":2,"id":"1","token":"t","data":{"name":"klaxon","options":[{"type":3,"name":"command","value":"ack 42"}]}}`))
		}, 400, "interaction has no user"},
		{"too large", func(env *hookEnv) *httptest.ResponseRecorder {
			return env.post(editFixture(t, "discord_application_command.json", func(m map[string]any) {
				m["padding"] = strings.Repeat("x", maxInteractionBody)
			}))
		}, 413, "request body is larger than"},
		{"GET", func(env *hookEnv) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			env.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, InteractionsPath, nil))
			return w
		}, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newHookEnv(t, 0)
			w := tc.send(env)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("answer = %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
			if calls := env.eng.Calls(); len(calls) != 0 {
				t.Errorf("engine was called: %q", calls)
			}
		})
	}
}

func TestNewHandlerRefusesIncompleteConfig(t *testing.T) {
	env := newHookEnv(t, 0)
	full := HandlerOptions{PublicKey: env.key.Public().(ed25519.PublicKey), AppID: testAppID,
		Engine: env.eng, People: people(), Followups: env.h.followups}
	if _, err := NewHandler(full); err != nil {
		t.Fatalf("complete options refused: %v", err)
	}
	for name, change := range map[string]func(o *HandlerOptions){
		"public key": func(o *HandlerOptions) { o.PublicKey = o.PublicKey[:31] },
		"app ID":     func(o *HandlerOptions) { o.AppID = "" },
		"engine":     func(o *HandlerOptions) { o.Engine = nil },
		"people":     func(o *HandlerOptions) { o.People = nil },
		"followups":  func(o *HandlerOptions) { o.Followups = nil },
	} {
		o := full
		change(&o)
		if _, err := NewHandler(o); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
}
