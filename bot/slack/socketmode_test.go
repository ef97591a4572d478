package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const testAppToken = "xapp-1-A0KLAXON-1234-s3cr3tAppToken"

// guard bounds every wait on the real network in these tests; it is never
// slept, only raced against what the test waits for.
const guard = 10 * time.Second

// socketSlack is a fake of Slack's Socket Mode: apps.connections.open hands
// out a websocket URL on the same server, and each websocket is passed to
// the test, which speaks for Slack on it.
type socketSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	answers []string // apps.connections.open answers in turn; the last repeats
	opens   int
	auths   []string

	conns chan *websocket.Conn
}

func newSocketSlack(t *testing.T, answers ...string) *socketSlack {
	t.Helper()
	s := &socketSlack{t: t, answers: answers, conns: make(chan *websocket.Conn, 4)}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *socketSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/apps.connections.open":
		s.mu.Lock()
		answer := s.answers[min(s.opens, len(s.answers)-1)]
		s.opens++
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		answer = strings.ReplaceAll(answer, "{{ws}}", "ws://"+r.Host+"/link")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(answer))
	case "/link":
		// slack-go dials with Slack's own origin.
		up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			s.t.Errorf("websocket upgrade: %v", err)
			return
		}
		s.conns <- conn
	default:
		http.NotFound(w, r)
	}
}

func (s *socketSlack) Opens() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens, slices.Clone(s.auths)
}

// accept waits for Klaxon to connect and greets it as Slack does.
func (s *socketSlack) accept(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case conn := <-s.conns:
		t.Cleanup(func() { conn.Close() })
		send(t, conn, map[string]any{
			"type": "hello", "num_connections": 1,
			"connection_info": map[string]any{"app_id": "A0KLAXON"},
			"debug_info":      map[string]any{"host": "applink-test", "approximate_connection_time": 18060},
		})
		return conn
	case <-time.After(guard):
		t.Fatal("Klaxon did not connect")
		return nil
	}
}

func send(t *testing.T, conn *websocket.Conn, v any) {
	t.Helper()
	if err := conn.WriteJSON(v); err != nil {
		t.Fatalf("writing to Klaxon: %v", err)
	}
}

// socketAck is Klaxon's answer to an envelope.
type socketAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

func readAck(t *testing.T, conn *websocket.Conn) socketAck {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	var ack socketAck
	if err := conn.ReadJSON(&ack); err != nil {
		t.Fatalf("reading Klaxon's ack: %v", err)
	}
	return ack
}

// slashEnvelope is the docs' slash command as Socket Mode delivers it.
func slashEnvelope(t *testing.T, envelopeID, userID, text string) map[string]any {
	t.Helper()
	payload := map[string]string{}
	for k, v := range commandForm(t, userID, text) {
		payload[k] = v[0]
	}
	return map[string]any{"envelope_id": envelopeID, "type": "slash_commands", "accepts_response_payload": true, "payload": payload}
}

func clickEnvelope(t *testing.T, envelopeID, userID, actionID, value string) map[string]any {
	t.Helper()
	form, err := url.ParseQuery(clickPayload(t, userID, actionID, value, nil))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"envelope_id": envelopeID, "type": "interactive", "accepts_response_payload": false,
		"payload": json.RawMessage(form.Get("payload"))}
}

// runSocketMode starts Socket Mode against the fake and stops it when the
// test ends, before the handler's own cleanup.
func runSocketMode(t *testing.T, env *slackEnv, fake *socketSlack) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.h.RunSocketMode(ctx, SocketModeOptions{
			AppToken: testAppToken, BaseURL: fake.srv.URL + "/api", HTTPClient: fake.srv.Client(),
			MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(guard):
			t.Error("RunSocketMode did not return after its context ended")
		}
		if strings.Contains(env.log.String(), testAppToken) {
			t.Errorf("log contains the app token:\n%s", env.log)
		}
	})
}

func TestSocketModeRunsSlashCommandsAndButtons(t *testing.T) {
	env := newSlackEnv(t, testPeople())
	env.hooks.posted = make(chan hookPost, 1)
	fake := newSocketSlack(t, `{"ok":true,"url":"{{ws}}"}`)
	runSocketMode(t, env, fake)
	conn := fake.accept(t)

	send(t, conn, slashEnvelope(t, "env-1", aliceSlack, "ack 42"))
	ack := readAck(t, conn)
	if ack.EnvelopeID != "env-1" {
		t.Errorf("ack for %q", ack.EnvelopeID)
	}
	r := decodeReply(t, ack.Payload)
	if r.ResponseType != "in_channel" || r.Text != "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped." {
		t.Errorf("slash reply = %+v", r)
	}

	send(t, conn, clickEnvelope(t, "env-2", bobSlack, ActionResolve, "42"))
	if ack := readAck(t, conn); ack.EnvelopeID != "env-2" || len(ack.Payload) != 0 {
		t.Errorf("click ack = %s %s, want the envelope id alone", ack.EnvelopeID, ack.Payload)
	}
	select {
	case p := <-env.hooks.posted:
		r := decodeReply(t, p.body)
		if p.url != buttonResponseURL || r.ReplaceOriginal == nil || !*r.ReplaceOriginal || !strings.Contains(r.Text, "resolved by bob") {
			t.Errorf("post to %s = %+v", p.url, r)
		}
	case <-time.After(guard):
		t.Fatal("no reply to the click")
	}
	if got, want := env.eng.Calls(), []string{"ack 42 alice/slack", `resolve 42 bob/slack ""`}; !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
	if _, auths := fake.Opens(); len(auths) != 1 || auths[0] != "Bearer "+testAppToken {
		t.Errorf("apps.connections.open authorization = %q", auths)
	}
}

func TestSocketModeUnknownUserCannotAck(t *testing.T) {
	env := newSlackEnv(t, testPeople())
	fake := newSocketSlack(t, `{"ok":true,"url":"{{ws}}"}`)
	runSocketMode(t, env, fake)
	conn := fake.accept(t)
	send(t, conn, slashEnvelope(t, "env-1", strangerID, "ack 42"))
	if r := decodeReply(t, readAck(t, conn).Payload); r.ResponseType != "ephemeral" || r.Text != unknownUserReply(strangerID) {
		t.Errorf("reply = %+v", r)
	}
	if calls := env.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine was called: %q", calls)
	}
}

func TestSocketModeKeepsReconnecting(t *testing.T) {
	env := newSlackEnv(t, testPeople())
	// Refused first (a token being rotated), then accepted.
	fake := newSocketSlack(t, `{"ok":false,"error":"invalid_auth"}`, `{"ok":true,"url":"{{ws}}"}`)
	runSocketMode(t, env, fake)

	first := fake.accept(t)
	// Slack drops the connection, as it does every few hours.
	first.Close()
	second := fake.accept(t)
	send(t, second, slashEnvelope(t, "env-9", aliceSlack, "help"))
	if ack := readAck(t, second); ack.EnvelopeID != "env-9" || decodeReply(t, ack.Payload).ResponseType != "ephemeral" {
		t.Errorf("ack after reconnecting = %s %s", ack.EnvelopeID, ack.Payload)
	}
	if opens, _ := fake.Opens(); opens != 3 {
		t.Errorf("apps.connections.open called %d times, want 3", opens)
	}
	if log := env.log.String(); !strings.Contains(log, "slack socket mode connection failed; retrying") || !strings.Contains(log, "err=invalid_auth") {
		t.Errorf("log:\n%s", log)
	}
}

func TestSocketModeWithoutAppTokenDoesNotConnect(t *testing.T) {
	env := newSlackEnv(t, testPeople())
	fake := newSocketSlack(t, `{"ok":true,"url":"{{ws}}"}`)
	env.h.RunSocketMode(t.Context(), SocketModeOptions{BaseURL: fake.srv.URL + "/api/"})
	if opens, _ := fake.Opens(); opens != 0 {
		t.Errorf("connected %d times", opens)
	}
	if !strings.Contains(env.log.String(), "no app token") {
		t.Errorf("log:\n%s", env.log)
	}
}
