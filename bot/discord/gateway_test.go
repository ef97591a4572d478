package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
)

// The Gateway tests run in a synctest bubble on an in-memory network: the
// heartbeat interval and the backoff are Discord's and Klaxon's real ones,
// and take no time.
const (
	gatewayHost = "gateway.discord.test"
	resumeHost  = "gateway-us-east1-b.discord.test"
	// heartbeatMillis is what Discord's HELLO says, in milliseconds.
	heartbeatMillis   = 41250
	heartbeatInterval = heartbeatMillis * time.Millisecond
	minBackoff        = time.Second
	maxBackoff        = 8 * time.Second
	// guard bounds every wait, on the bubble's clock: it only runs out
	// when nothing else can happen.
	guard = time.Hour

	gatewayBotPath = "/api/v10/gateway/bot"
	// The callbacks of the fixtures' command and button.
	commandCallback = "/api/v10/interactions/786008729715212338/A_UNIQUE_TOKEN/callback"
	buttonCallback  = "/api/v10/interactions/846462639134605312/unique_interaction_token/callback"
)

// gatewayBotJSON is Discord's answer to GET /gateway/bot.
func gatewayBotJSON(remaining, resetAfterMillis int) string {
	return fmt.Sprintf(`{"url": "ws://%s", "shards": 1, "session_start_limit": {
		"total": 1000, "remaining": %d, "reset_after": %d, "max_concurrency": 1}}`, gatewayHost, remaining, resetAfterMillis)
}

// memNet is an in-memory network on which every host is the one fake
// Discord: its listener serves the REST API and the Gateway alike.
type memNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	// dials gets every connection attempt, refused or not.
	dials   chan memDial
	mu      sync.Mutex
	refused map[string]bool
	// stalled hosts accept connections and never answer on them.
	stalled map[string]bool
}

type memDial struct {
	host string
	at   time.Time
}

func newMemNet() *memNet {
	return &memNet{conns: make(chan net.Conn), done: make(chan struct{}), dials: make(chan memDial, 256),
		refused: map[string]bool{}, stalled: map[string]bool{}}
}

// refuse makes host refuse connections, or (false) accept them again.
func (n *memNet) refuse(host string, refused bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refused[host] = refused
}

// stall makes host accept connections and never answer on them.
func (n *memNet) stall(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stalled[host] = true
}

func (n *memNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	n.dials <- memDial{host: host, at: time.Now()}
	n.mu.Lock()
	refused, stalled := n.refused[host], n.stalled[host]
	n.mu.Unlock()
	if refused {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	client, server := net.Pipe()
	if stalled {
		return client, nil
	}
	select {
	case n.conns <- server:
		return client, nil
	case <-n.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
}

func (n *memNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func (n *memNet) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}

func (n *memNet) Addr() net.Addr { return memAddr("discord.test:80") }

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// nextDial waits for Klaxon's next connection attempt to host.
func (n *memNet) nextDial(t *testing.T, host string) memDial {
	t.Helper()
	timeout := time.After(guard)
	for {
		select {
		case d := <-n.dials:
			if d.host == host {
				return d
			}
		case <-timeout:
			t.Fatalf("Klaxon never dialed %s", host)
		}
	}
}

// fakeGateway is Discord's Gateway: each websocket Klaxon opens is handed to
// the test, which speaks for Discord on it.
type fakeGateway struct {
	t     *testing.T
	conns chan *gatewayConn
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var up websocket.Upgrader
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		g.t.Errorf("websocket upgrade: %v", err)
		return
	}
	c := &gatewayConn{host: r.Host, query: r.URL.Query(), ws: ws, got: make(chan gatewayFrame, 256)}
	go c.read()
	g.conns <- c
}

// accept waits for Klaxon's next connection.
func (g *fakeGateway) accept(t *testing.T) *gatewayConn {
	t.Helper()
	select {
	case c := <-g.conns:
		return c
	case <-time.After(guard):
		t.Fatal("Klaxon did not connect to the gateway")
		return nil
	}
}

// gatewayConn is one connection Klaxon opened.
type gatewayConn struct {
	host  string
	query url.Values
	ws    *websocket.Conn
	// got is what Klaxon sent, in order; it is closed when Klaxon closes or
	// drops the connection, closeCode set before (0: dropped without one).
	got       chan gatewayFrame
	closeCode int
}

// gatewayFrame is a payload Klaxon sent.
type gatewayFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
}

func (c *gatewayConn) read() {
	defer close(c.got)
	defer c.ws.Close()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode = ce.Code
			}
			return
		}
		f := gatewayFrame{Op: -1}
		if err := json.Unmarshal(msg, &f); err != nil {
			f.D = msg
		}
		c.got <- f
	}
}

func (c *gatewayConn) send(t *testing.T, v any) {
	t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		t.Fatalf("writing to Klaxon: %v", err)
	}
}

func (c *gatewayConn) hello(t *testing.T) {
	t.Helper()
	c.send(t, map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": heartbeatMillis}, "s": nil, "t": nil})
}

func (c *gatewayConn) dispatch(t *testing.T, seq int, event string, d any) {
	t.Helper()
	if b, ok := d.([]byte); ok {
		d = json.RawMessage(b)
	}
	c.send(t, map[string]any{"op": opDispatch, "s": seq, "t": event, "d": d})
}

// ready opens session id, as Discord does after an IDENTIFY.
func (c *gatewayConn) ready(t *testing.T, id string) {
	t.Helper()
	c.dispatch(t, 1, "READY", map[string]any{
		"v": 10, "user": map[string]any{"id": testAppID, "username": "Klaxon", "bot": true},
		"guilds": []any{}, "session_id": id, "resume_gateway_url": "ws://" + resumeHost,
		"application": map[string]any{"id": testAppID, "flags": 0},
	})
}

func (c *gatewayConn) ack(t *testing.T) {
	t.Helper()
	c.send(t, map[string]any{"op": opHeartbeatACK})
}

// closeWith closes the connection as Discord does, with a close code.
func (c *gatewayConn) closeWith(t *testing.T, code int, text string) {
	t.Helper()
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second)); err != nil {
		t.Fatalf("closing: %v", err)
	}
}

// expect waits for Klaxon's next payload, which must have opcode op.
func (c *gatewayConn) expect(t *testing.T, op int) gatewayFrame {
	t.Helper()
	select {
	case f, ok := <-c.got:
		if !ok {
			t.Fatalf("Klaxon closed the connection (code %d), want op %d", c.closeCode, op)
		}
		if f.Op != op {
			t.Fatalf("Klaxon sent op %d (%s), want op %d", f.Op, f.D, op)
		}
		return f
	case <-time.After(guard):
		t.Fatalf("Klaxon sent nothing, want op %d", op)
	}
	return gatewayFrame{}
}

// closed waits for Klaxon to end the connection, sending nothing more, and
// returns its close code.
func (c *gatewayConn) closed(t *testing.T) int {
	t.Helper()
	select {
	case f, ok := <-c.got:
		if ok {
			t.Fatalf("Klaxon sent op %d (%s), want the connection closed", f.Op, f.D)
		}
		return c.closeCode
	case <-time.After(guard):
		t.Fatal("Klaxon kept the connection open")
	}
	return 0
}

// gatewayEnv is Klaxon's handler with a fake Discord, REST and Gateway, on
// an in-memory network. It must be built inside the test's bubble.
type gatewayEnv struct {
	h      *Handler
	eng    *fakeEngine
	rest   *fakeDiscord
	gw     *fakeGateway
	net    *memNet
	client *Client
	log    *logBuffer
}

func newGatewayEnv(t *testing.T) *gatewayEnv {
	t.Helper()
	env := &gatewayEnv{
		eng:  newFakeEngine(),
		rest: &fakeDiscord{t: t, script: map[string][]discordReply{}, seen: make(chan call, 64)},
		gw:   &fakeGateway{t: t, conns: make(chan *gatewayConn, 64)},
		net:  newMemNet(),
		log:  &logBuffer{changed: make(chan struct{}, 1)},
	}
	env.rest.on("GET", gatewayBotPath, discordReply{status: 200, body: gatewayBotJSON(999, 14400000)})
	mux := http.NewServeMux()
	mux.Handle("/api/", env.rest)
	mux.Handle("/", env.gw)
	srv := &httptest.Server{Listener: env.net, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	transport := &http.Transport{DialContext: env.net.DialContext}
	t.Cleanup(transport.CloseIdleConnections)

	client, err := NewClient(ClientOptions{Token: testBotToken, BaseURL: "http://discord.test", Transport: transport})
	if err != nil {
		t.Fatal(err)
	}
	env.client = client
	h, err := NewHandler(HandlerOptions{
		// The Gateway verifies no signatures; the key is only required.
		PublicKey: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey),
		AppID:     testAppID, Engine: env.eng, People: people(), Followups: client,
		Log: slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.h = h
	t.Cleanup(func() {
		if log := env.log.String(); strings.Contains(log, testBotToken) || strings.Contains(log, "A_UNIQUE_TOKEN") ||
			strings.Contains(log, "unique_interaction_token") {
			t.Errorf("log holds a token:\n%s", log)
		}
	})
	return env
}

// run starts RunGateway. stop ends its context and checks that it returns
// at once, without waiting out a timer; the test's end stops it too.
func (env *gatewayEnv) run(t *testing.T) (stop func(), done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		env.h.RunGateway(ctx, GatewayOptions{Client: env.client, Dial: env.net.DialContext, MinBackoff: minBackoff, MaxBackoff: maxBackoff})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			stoppedAt := time.Now()
			select {
			case <-finished:
				if waited := time.Since(stoppedAt); waited > 0 {
					t.Errorf("RunGateway returned %s after its context ended, want at once", waited)
				}
			case <-time.After(guard):
				t.Error("RunGateway did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop, finished
}

// connect runs RunGateway and opens a session: HELLO, IDENTIFY, READY.
func (env *gatewayEnv) connect(t *testing.T) *gatewayConn {
	t.Helper()
	env.run(t)
	conn := env.gw.accept(t)
	conn.hello(t)
	conn.expect(t, opIdentify)
	conn.ready(t, "session-1")
	return conn
}

func (env *gatewayEnv) waitLog(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(guard)
	for !strings.Contains(env.log.String(), msg) {
		select {
		case <-env.log.changed:
		case <-timeout:
			t.Fatalf("log never said %q:\n%s", msg, env.log)
		}
	}
}

func TestGatewayIdentifiesAndRunsCommandsAndButtons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.rest.on("POST", commandCallback, discordReply{status: 204})
		env.rest.on("POST", buttonCallback, discordReply{status: 204})
		env.run(t)

		checkCall(t, env.rest.next(t), "GET", gatewayBotPath, "")
		conn := env.gw.accept(t)
		if conn.host != gatewayHost || conn.query.Get("v") != "10" || conn.query.Get("encoding") != "json" {
			t.Errorf("connected to %s with %v, want %s with v=10 and encoding=json", conn.host, conn.query, gatewayHost)
		}
		conn.hello(t)
		identify := conn.expect(t, opIdentify)
		sameJSON(t, "IDENTIFY", string(identify.D), `{"token": "`+testBotToken+`", "intents": 0,
			"properties": {"os": "`+runtime.GOOS+`", "browser": "klaxon", "device": "klaxon"}}`)
		conn.ready(t, "session-1")

		conn.dispatch(t, 2, "INTERACTION_CREATE", slashCommand(t, "ack 42"))
		checkCall(t, env.rest.next(t), "POST", commandCallback, `{"type": 4, "data": {
			"content": "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped.", "allowed_mentions": {"parse": []}}}`)

		conn.dispatch(t, 3, "INTERACTION_CREATE", buttonPress(t, "resolve:42"))
		c := env.rest.next(t)
		inc, _, err := env.eng.Incident(t.Context(), 42)
		if err != nil {
			t.Fatal(err)
		}
		embeds, components := IncidentMessage(inc)
		want, _ := json.Marshal(map[string]any{"type": 7, "data": map[string]any{
			"embeds": embeds, "components": components, "allowed_mentions": map[string]any{"parse": []any{}},
		}})
		checkCall(t, c, "POST", buttonCallback, string(want))
		if inc.Status != escalation.StatusResolved {
			t.Errorf("incident is %s, want resolved", inc.Status)
		}
		if got := env.eng.Calls(); strings.Join(got, "; ") != `ack 42 alice/discord; resolve 42 alice/discord ""` {
			t.Errorf("calls = %q", got)
		}
	})
}

func TestGatewayTellsAnUnknownUserToAskAnAdmin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.rest.on("POST", commandCallback, discordReply{status: 204})
		conn := env.connect(t)
		env.rest.next(t) // GET /gateway/bot

		conn.dispatch(t, 2, "INTERACTION_CREATE", editFixture(t, "discord_application_command.json", func(m map[string]any) {
			m["data"] = map[string]any{"name": "klaxon", "options": []any{map[string]any{"type": 3, "name": "command", "value": "ack 42"}}}
			m["member"].(map[string]any)["user"].(map[string]any)["id"] = "111111111111111111"
		}))
		checkCall(t, env.rest.next(t), "POST", commandCallback, `{"type": 4, "data": {
			"content": "You are not a Klaxon responder. Ask your Klaxon admin to add your Discord user id 111111111111111111 to your Klaxon profile.",
			"flags": 64, "allowed_mentions": {"parse": []}}}`)
		if calls := env.eng.Calls(); len(calls) != 0 {
			t.Errorf("engine was called: %q", calls)
		}
	})
}

func TestGatewaySlowCommandIsDeferredThenEditedAndHoldsUpNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.rest.on("POST", commandCallback, discordReply{status: 204})
		original := "/api/v9/webhooks/" + testAppID + "/A_UNIQUE_TOKEN/messages/@original"
		env.rest.on("PATCH", original, discordReply{status: 200, body: messageJSON("1", "2")})
		conn := env.connect(t)
		env.rest.next(t) // GET /gateway/bot
		release := env.eng.slow()

		sent := time.Now()
		conn.dispatch(t, 2, "INTERACTION_CREATE", slashCommand(t, "ack 42"))
		// The slow command holds up neither the connection nor the next one.
		conn.dispatch(t, 3, "INTERACTION_CREATE", dmCommand(t, "help"))
		help, _ := json.Marshal(response{Type: 4, Data: &responseData{Content: bot.Usage, Flags: 64, AllowedMentions: noPings()}})
		checkCall(t, env.rest.next(t), "POST", commandCallback, string(help))
		if waited := time.Since(sent); waited != 0 {
			t.Errorf("help answered after %s, want at once", waited)
		}
		checkCall(t, env.rest.next(t), "POST", commandCallback, `{"type": 5, "data": {"flags": 64}}`)
		if waited := time.Since(sent); waited != DefaultBudget {
			t.Errorf("deferred after %s, want the budget %s", waited, DefaultBudget)
		}
		close(release)
		checkCall(t, env.rest.next(t), "PATCH", original,
			`{"content": "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped.", "allowed_mentions": `+noPingsJSON+`}`)
		env.waitLog(t, "deferred discord answer delivered")
	})
}

func TestGatewayHeartbeatsAndResumesAZombieConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.run(t)
		conn := env.gw.accept(t)
		helloAt := time.Now()
		conn.hello(t)
		conn.expect(t, opIdentify)
		conn.ready(t, "session-1")
		conn.dispatch(t, 2, "GUILD_CREATE", map[string]any{"id": "290926798626357999", "unavailable": true})

		// The first beat comes at a random point of the first interval,
		// with the last sequence number.
		beat := conn.expect(t, opHeartbeat)
		firstAt := time.Now()
		if string(beat.D) != "2" || firstAt.Sub(helloAt) >= heartbeatInterval {
			t.Errorf("first heartbeat %s after %s, want 2 within %s", beat.D, firstAt.Sub(helloAt), heartbeatInterval)
		}
		conn.ack(t)
		// Discord may ask for a beat at any time.
		conn.send(t, map[string]any{"op": opHeartbeat, "d": nil})
		if beat := conn.expect(t, opHeartbeat); string(beat.D) != "2" || time.Since(firstAt) != 0 {
			t.Errorf("requested heartbeat %s after %s, want 2 at once", beat.D, time.Since(firstAt))
		}
		conn.ack(t)
		if conn.expect(t, opHeartbeat); time.Since(firstAt) != heartbeatInterval {
			t.Errorf("second heartbeat %s after the first, want %s", time.Since(firstAt), heartbeatInterval)
		}

		// Discord stops answering: at the next beat Klaxon gives up on the
		// connection, keeping the session, and resumes it where READY said.
		lastAt := time.Now()
		if code := conn.closed(t); code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
			t.Errorf("closed with %d, which ends the session", code)
		}
		if waited := time.Since(lastAt); waited != heartbeatInterval {
			t.Errorf("zombie connection closed %s after the unacknowledged beat, want %s", waited, heartbeatInterval)
		}
		second := env.gw.accept(t)
		if second.host != resumeHost {
			t.Errorf("reconnected to %s, want the resume URL's %s", second.host, resumeHost)
		}
		second.hello(t)
		sameJSON(t, "RESUME", string(second.expect(t, opResume).D),
			`{"token": "`+testBotToken+`", "session_id": "session-1", "seq": 2}`)
		second.dispatch(t, 3, "RESUMED", map[string]any{})
		env.waitLog(t, "discord gateway resumed")
		if calls := env.rest.Calls(); len(calls) != 1 {
			t.Errorf("REST calls = %v, want GET /gateway/bot once: a resume needs none", calls)
		}
	})
}

func TestGatewayReconnectsAsDiscordSays(t *testing.T) {
	cases := []struct {
		name string
		end  func(t *testing.T, conn *gatewayConn)
		// klaxonCloses: Klaxon ends the connection, keeping the session.
		klaxonCloses bool
		resume       bool
	}{
		{"op 7 reconnect", func(t *testing.T, c *gatewayConn) { c.send(t, map[string]any{"op": opReconnect, "d": nil}) }, true, true},
		{"op 9 resumable", func(t *testing.T, c *gatewayConn) { c.send(t, map[string]any{"op": opInvalidSession, "d": true}) }, true, true},
		{"op 9 not resumable", func(t *testing.T, c *gatewayConn) { c.send(t, map[string]any{"op": opInvalidSession, "d": false}) }, true, false},
		{"close 4000 unknown error", func(t *testing.T, c *gatewayConn) { c.closeWith(t, 4000, "Unknown error.") }, false, true},
		{"close 4009 session timed out", func(t *testing.T, c *gatewayConn) { c.closeWith(t, 4009, "Session timed out.") }, false, false},
		{"connection dropped", func(t *testing.T, c *gatewayConn) { c.ws.NetConn().Close() }, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newGatewayEnv(t)
				env.rest.on("POST", commandCallback, discordReply{status: 204})
				conn := env.connect(t)
				conn.dispatch(t, 7, "GUILD_CREATE", map[string]any{"id": "290926798626357999", "unavailable": true})

				tc.end(t, conn)
				if code := conn.closed(t); tc.klaxonCloses && (code == 0 || code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway) {
					t.Errorf("Klaxon closed with %d, want a code that keeps the session", code)
				}
				next := env.gw.accept(t)
				next.hello(t)
				if tc.resume {
					if next.host != resumeHost {
						t.Errorf("resumed on %s, want %s", next.host, resumeHost)
					}
					sameJSON(t, "RESUME", string(next.expect(t, opResume).D),
						`{"token": "`+testBotToken+`", "session_id": "session-1", "seq": 7}`)
					next.dispatch(t, 8, "RESUMED", map[string]any{})
				} else {
					if next.host != gatewayHost {
						t.Errorf("identified on %s, want %s", next.host, gatewayHost)
					}
					next.expect(t, opIdentify)
					next.ready(t, "session-2")
				}
				var gets int
				for _, c := range env.rest.Calls() {
					if c.Path == gatewayBotPath {
						gets++
					}
				}
				if want := map[bool]int{true: 1, false: 2}[tc.resume]; gets != want {
					t.Errorf("GET /gateway/bot %d times, want %d", gets, want)
				}

				// Commands work on the new connection.
				next.dispatch(t, 9, "INTERACTION_CREATE", slashCommand(t, "ack 42"))
				env.waitLog(t, `msg="discord command executed"`)
				if got := env.eng.Calls(); len(got) != 1 || got[0] != "ack 42 alice/discord" {
					t.Errorf("calls = %q", got)
				}
			})
		})
	}
}

func TestGatewayRetriesARefusingServerWithBackoffAndStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.net.refuse(gatewayHost, true)
		stop, _ := env.run(t)

		// Each wait is drawn between the backoff's step and the next, and
		// never longer than MaxBackoff.
		prev := env.net.nextDial(t, gatewayHost).at
		for i, step := range []time.Duration{1, 2, 4, 8, 8} {
			at := env.net.nextDial(t, gatewayHost).at
			lo, hi := step*time.Second, min(2*step*time.Second, maxBackoff)
			if gap := at.Sub(prev); gap < lo || gap > hi {
				t.Errorf("attempt %d came %s after the one before, want between %s and %s", i+2, gap, lo, hi)
			}
			prev = at
		}
		if log := env.log.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "discord gateway disconnected; reconnecting") ||
			!strings.Contains(log, "connection refused") {
			t.Errorf("log should say why and that Klaxon retries:\n%s", log)
		}

		// Klaxon is waiting out its backoff: stopping does not wait for it.
		stop()
	})
}

func TestGatewayStopsAtOnceWhileTheServerStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.net.stall(gatewayHost)
		stop, _ := env.run(t)
		env.net.nextDial(t, gatewayHost)
		// Klaxon waits in the websocket handshake, which has no answer.
		synctest.Wait()
		stop()
	})
}

func TestGatewayComesBackWhenTheServerDoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.net.refuse(gatewayHost, true)
		stop, _ := env.run(t)
		env.net.nextDial(t, gatewayHost)
		env.net.nextDial(t, gatewayHost)
		env.net.refuse(gatewayHost, false)

		conn := env.gw.accept(t)
		conn.hello(t)
		conn.expect(t, opIdentify)
		conn.ready(t, "session-1")
		env.waitLog(t, "discord gateway connected")

		// Discord goes silent: its heartbeat unacknowledged, Klaxon gives up
		// on the connection at the next.
		conn.expect(t, opHeartbeat)
		conn.closed(t)
		closedAt := time.Now()
		// The connection lasted: the backoff, grown by the refusals, starts
		// over.
		if gap := env.net.nextDial(t, resumeHost).at.Sub(closedAt); gap < minBackoff || gap > 2*minBackoff {
			t.Errorf("reconnected %s after a connection that lasted, want between %s and %s", gap, minBackoff, 2*minBackoff)
		}
		next := env.gw.accept(t)
		next.hello(t)
		next.expect(t, opResume)

		stop()
		// 1000 ends the session: the bot shows offline at once.
		if code := next.closed(t); code != websocket.CloseNormalClosure {
			t.Errorf("closed with %d on shutdown, want 1000", code)
		}
	})
}

// refuseWith makes the gateway close Klaxon's next connection after its
// IDENTIFY, with a close code.
func refuseWith(code int, text string) func(t *testing.T, env *gatewayEnv) {
	return func(t *testing.T, env *gatewayEnv) {
		conn := env.gw.accept(t)
		conn.hello(t)
		conn.expect(t, opIdentify)
		conn.closeWith(t, code, text)
	}
}

func TestGatewayStopsWhenDiscordRefusesTheBot(t *testing.T) {
	cases := []struct {
		name       string
		gatewayBot discordReply
		refuse     func(t *testing.T, env *gatewayEnv)
		why        string
	}{
		{"close 4004 authentication failed", discordReply{status: 200, body: gatewayBotJSON(999, 14400000)},
			refuseWith(4004, "Authentication failed."), "close 4004"},
		{"close 4014 disallowed intents", discordReply{status: 200, body: gatewayBotJSON(999, 14400000)},
			refuseWith(4014, "Disallowed intent(s)."), "close 4014"},
		{"HTTP 401 from /gateway/bot", discordReply{status: 401, body: `{"message": "401: Unauthorized", "code": 0}`},
			func(*testing.T, *gatewayEnv) {}, "HTTP 401"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newGatewayEnv(t)
				env.rest.mu.Lock()
				env.rest.script["GET "+gatewayBotPath] = []discordReply{tc.gatewayBot}
				env.rest.mu.Unlock()
				_, done := env.run(t)
				tc.refuse(t, env)
				select {
				case <-done:
				case <-time.After(guard):
					t.Fatal("RunGateway kept going after Discord refused the bot")
				}
				if calls := env.rest.Calls(); len(calls) != 1 {
					t.Errorf("REST calls = %v, want one GET /gateway/bot", calls)
				}
				log := env.log.String()
				if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "until Klaxon restarts") || !strings.Contains(log, tc.why) {
					t.Errorf("log should say, as an error, why Klaxon stopped:\n%s", log)
				}
			})
		})
	}
}

func TestGatewayWaitsOutTheDailySessionLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.rest.mu.Lock()
		env.rest.script["GET "+gatewayBotPath] = []discordReply{{status: 200, body: gatewayBotJSON(0, 60000)}}
		env.rest.mu.Unlock()
		env.run(t)
		env.rest.next(t)
		asked := time.Now()
		env.gw.accept(t).hello(t)
		if waited := time.Since(asked); waited != time.Minute {
			t.Errorf("connected %s after Discord said no sessions were left for a minute", waited)
		}
		if !strings.Contains(env.log.String(), "discord allows no new gateway session") {
			t.Errorf("log:\n%s", env.log)
		}
	})
}

func TestGatewayContainsAPanicInAnInteraction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.rest.on("POST", commandCallback, discordReply{status: 204})
		directory := people()
		env.h.people = PeopleFunc(func(userID string) (string, bool) {
			if userID == aliceDiscordID {
				panic("directory corrupted")
			}
			return directory.PersonByDiscordID(userID)
		})
		conn := env.connect(t)
		env.rest.next(t) // GET /gateway/bot

		conn.dispatch(t, 2, "INTERACTION_CREATE", slashCommand(t, "ack 42"))
		env.waitLog(t, "panic in a discord gateway interaction")
		if !strings.Contains(env.log.String(), "directory corrupted") {
			t.Errorf("the panic is not logged:\n%s", env.log)
		}
		// The connection and the next command are unharmed.
		conn.dispatch(t, 3, "INTERACTION_CREATE", dmCommand(t, "ack 41"))
		checkCall(t, env.rest.next(t), "POST", commandCallback, `{"type": 4, "data": {
			"content": "Acknowledged #41 Disk full on db-1. Paging stopped.", "allowed_mentions": {"parse": []}}}`)
	})
}

func TestGatewayURLKeepsTheTokenOnTLS(t *testing.T) {
	for _, base := range []string{"", "http://127.0.0.1:8080"} {
		c, err := NewClient(ClientOptions{Token: testBotToken, BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		g := &gateway{insecure: c.plainHTTP()}
		if got, err := g.gatewayURL("wss://gateway.discord.gg"); err != nil || got != "wss://gateway.discord.gg/?v=10&encoding=json" {
			t.Errorf("base %q: wss URL = %q, %v", base, got, err)
		}
		_, err = g.gatewayURL("ws://gateway.discord.gg")
		if plain := base != ""; (err == nil) != plain {
			t.Errorf("base %q: ws URL accepted = %v, want %v", base, err == nil, plain)
		}
		for _, bad := range []string{"https://gateway.discord.gg", "wss://", "gateway.discord.gg"} {
			if _, err := g.gatewayURL(bad); err == nil {
				t.Errorf("base %q: %q accepted", base, bad)
			}
		}
	}
}

func TestGatewayCallbackErrorHidesTheInteractionToken(t *testing.T) {
	c, err := NewClient(ClientOptions{Token: testBotToken, BaseURL: "http://discord.test",
		Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("connection reset by peer") })})
	if err != nil {
		t.Fatal(err)
	}
	err = c.respondInteraction(t.Context(), "786008729715212338", "A_UNIQUE_TOKEN", response{Type: 4})
	if err == nil || strings.Contains(err.Error(), "A_UNIQUE_TOKEN") || strings.Contains(err.Error(), testBotToken) ||
		!strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("err = %v, want the cause without a token", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRunGatewayWithoutAClientDoesNotConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newGatewayEnv(t)
		env.h.RunGateway(t.Context(), GatewayOptions{Dial: env.net.DialContext})
		select {
		case d := <-env.net.dials:
			t.Errorf("dialed %s", d.host)
		default:
		}
		if !strings.Contains(env.log.String(), "no REST client") {
			t.Errorf("log:\n%s", env.log)
		}
	})
}
