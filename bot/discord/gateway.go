package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/klaxonhq/klaxon/escalation"
)

// Gateway opcodes Klaxon speaks.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

const (
	// apiV10 is where the Gateway's REST calls go; the client's transport
	// sends discord.com to the configured base URL.
	apiV10       = DefaultBaseURL + "/api/v10/"
	gatewayQuery = "v=10&encoding=json"

	defaultGatewayMinBackoff = time.Second
	defaultGatewayMaxBackoff = 5 * time.Minute

	// helloTimeout bounds the wait for HELLO, which Discord sends at once.
	helloTimeout = 30 * time.Second
	// gatewayWriteTimeout bounds one send; a connection that cannot take a
	// few hundred bytes in that time is dead.
	gatewayWriteTimeout = 10 * time.Second
	closeTimeout        = time.Second
	// callbackTimeout bounds an interaction's initial response: Discord
	// refuses it 3 seconds after the interaction anyway.
	callbackTimeout = 5 * time.Second
	// maxGatewayMessage bounds one event. With no intents the largest is an
	// interaction on a message with embeds, well under this.
	maxGatewayMessage = 4 << 20

	// closeResumable ends a connection Klaxon means to resume: Discord
	// ends the session on 1000 and 1001, on no other code.
	closeResumable = 4000
)

// GatewayOptions configure RunGateway.
type GatewayOptions struct {
	// Client is the bot's REST client: it finds the Gateway, holds the bot
	// token the Gateway is opened with, and answers the interactions that
	// arrive.
	Client *Client
	// MinBackoff and MaxBackoff bound the wait before reconnecting: it
	// starts at MinBackoff, doubles while connections keep failing, and is
	// spread at random up to the next step. Defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Dial opens the TCP connections under the websocket, with no proxy in
	// between: tests dial an in-memory network. Default: a net.Dialer,
	// through the proxy the environment names, as the REST client does.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// RunGateway receives /klaxon commands and incident buttons over Discord's
// Gateway, for a Klaxon without a public URL, and runs them exactly as the
// interactions endpoint does, answering through the REST callback. It
// connects in the background, resumes or reconnects with backoff whenever
// the connection drops, and returns only when ctx ends — or when Discord
// refuses the bot token or Klaxon's identify for good (close code 4004 or
// 4010-4014, HTTP 401): no retry can succeed before Klaxon restarts with a
// corrected configuration, and a bot that keeps presenting a bad token gets
// its address rate limited. Run it in its own goroutine; it never fails or
// holds up startup.
func (h *Handler) RunGateway(ctx context.Context, o GatewayOptions) {
	if o.Client == nil {
		h.log.ErrorContext(ctx, "discord gateway has no REST client; not connecting")
		return
	}
	g := &gateway{
		h:        h,
		rest:     o.Client,
		token:    strings.TrimPrefix(o.Client.s.Token, "Bot "),
		insecure: o.Client.plainHTTP(),
		netDial:  o.Dial,
		dialer:   websocket.Dialer{HandshakeTimeout: defaultTimeout},
		minWait:  o.MinBackoff,
		maxWait:  o.MaxBackoff,
	}
	if g.netDial == nil {
		g.netDial = (&net.Dialer{}).DialContext
		g.dialer.Proxy = http.ProxyFromEnvironment
	}
	if g.minWait <= 0 {
		g.minWait = defaultGatewayMinBackoff
	}
	if g.maxWait < g.minWait {
		g.maxWait = max(defaultGatewayMaxBackoff, g.minWait)
	}
	g.run(ctx)
}

// gateway is one RunGateway: its settings and the session it resumes. Only
// RunGateway's goroutine touches it; interactions run on their own.
type gateway struct {
	h     *Handler
	rest  *Client
	token string
	// insecure allows ws:// URLs: the REST base URL is plain http, a local
	// test server. Otherwise the token only travels over TLS.
	insecure         bool
	netDial          func(ctx context.Context, network, addr string) (net.Conn, error)
	dialer           websocket.Dialer
	minWait, maxWait time.Duration
	session          gatewaySession
}

// gatewaySession is what a RESUME needs; zero when a fresh IDENTIFY is due.
type gatewaySession struct {
	id        string
	resumeURL string
	// seq is the last sequence number received; 0 before the first.
	seq int64
}

// refusedError is Discord refusing the token or the identify for good.
type refusedError struct {
	reason string
	err    error
}

func (e *refusedError) Error() string { return "discord gateway: " + e.reason + ": " + e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// routineDrop ends a connection as part of the Gateway's life: Discord
// asked for a reconnect. It is logged as news, not as a failure.
type routineDrop string

func (r routineDrop) Error() string { return "discord gateway: " + string(r) }

func (g *gateway) run(ctx context.Context) {
	log := g.h.log
	wait := g.minWait
	for {
		started := time.Now()
		err := g.connection(ctx)
		if ctx.Err() != nil {
			return
		}
		var refused *refusedError
		if errors.As(err, &refused) {
			log.ErrorContext(ctx, "discord refused the bot; the gateway stays closed until Klaxon restarts with a corrected token or configuration", "err", err)
			return
		}
		// A connection that lasted starts the backoff over.
		if time.Since(started) > g.maxWait {
			wait = g.minWait
		}
		pause := jitter(wait, g.maxWait)
		if after, ok := RetryAfter(err); ok {
			pause = max(pause, after)
		}
		level := slog.LevelWarn
		if errors.As(err, new(routineDrop)) {
			level = slog.LevelInfo
		}
		log.Log(ctx, level, "discord gateway disconnected; reconnecting", "err", err, "retry_in", pause, "resume", g.session.id != "")
		if !sleep(ctx, pause) {
			return
		}
		wait = min(wait*2, g.maxWait)
	}
}

// jitter picks a wait between wait and the next step of the backoff, so
// that Klaxons cut off together do not all come back at the same moment.
func jitter(wait, maxWait time.Duration) time.Duration {
	next := min(2*wait, maxWait)
	if next <= wait {
		return wait
	}
	return wait + rand.N(next-wait+1)
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connection runs one connection: it finds where to connect, opens the
// websocket and serves it until it ends. A panic is the connection's end,
// not Klaxon's.
func (g *gateway) connection(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			g.h.log.ErrorContext(ctx, "panic in the discord gateway connection", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("discord gateway: panic: %v", v)
		}
	}()
	target := g.session.resumeURL
	if g.session.id == "" {
		found, err := g.rest.gatewayBot(ctx)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
			return &refusedError{reason: "the bot token was refused", err: err}
		}
		if err != nil {
			return err
		}
		if wait := found.startWait(); wait > 0 {
			// Identifying past the daily limit gets the token reset.
			g.h.log.WarnContext(ctx, "discord allows no new gateway session until its daily limit resets", "retry_in", wait)
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
		}
		target = found.URL
	}
	u, err := g.gatewayURL(target)
	if err != nil {
		g.session = gatewaySession{}
		return err
	}
	conn, err := g.dial(ctx, u)
	if err != nil {
		// The resume URL may have gone with its session; a fresh one is
		// found through /gateway/bot.
		g.session = gatewaySession{}
		return err
	}
	defer conn.Close()
	return g.serve(ctx, conn, target)
}

// gatewayURL is where to open the websocket: Discord's URL with the API
// version and encoding Klaxon speaks.
func (g *gateway) gatewayURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !(u.Scheme == "wss" || u.Scheme == "ws" && g.insecure) {
		return "", fmt.Errorf("discord gateway: %q is not a wss:// URL", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.RawQuery = gatewayQuery
	return u.String(), nil
}

// dial opens the websocket. The handshake's reads do not watch ctx, so the
// connection under it is closed when ctx ends.
func (g *gateway) dial(ctx context.Context, u string) (*websocket.Conn, error) {
	var (
		mu  sync.Mutex
		raw []net.Conn
	)
	d := g.dialer
	d.NetDialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		c, err := g.netDial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		raw = append(raw, c)
		mu.Unlock()
		if err := ctx.Err(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range raw {
			c.Close()
		}
	})
	conn, resp, err := d.DialContext(ctx, u, nil)
	if !stop() {
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("discord gateway: connecting: %w", ctx.Err())
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("discord gateway: connecting: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("discord gateway: connecting: %w", err)
	}
	return conn, nil
}

// gatewayPayload is a message from the Gateway.
type gatewayPayload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  string          `json:"t"`
}

// gatewaySend is a message to the Gateway.
type gatewaySend struct {
	Op int `json:"op"`
	D  any `json:"d"`
}

type identify struct {
	Token string `json:"token"`
	// Intents is 0: interactions come to every bot, with no intent at all.
	Intents    int                `json:"intents"`
	Properties identifyProperties `json:"properties"`
}

type identifyProperties struct {
	OS      string `json:"os"`
	Browser string `json:"browser"`
	Device  string `json:"device"`
}

type resume struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

// serve speaks the Gateway protocol on one connection until it ends: HELLO,
// IDENTIFY or RESUME, heartbeats, and the events. It alone writes to conn;
// a reader goroutine hands it what arrives.
func (g *gateway) serve(ctx context.Context, conn *websocket.Conn, target string) error {
	conn.SetReadLimit(maxGatewayMessage)
	events := make(chan gatewayPayload)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { g.read(ctx, conn, events, readErr, done) })
	defer func() {
		close(done)
		conn.Close()
		wg.Wait()
	}()

	hello := time.NewTimer(helloTimeout)
	defer hello.Stop()
	helloC := hello.C
	var (
		beat     *time.Timer
		beatC    <-chan time.Time
		interval time.Duration
		acked    = true
	)
	defer func() {
		if beat != nil {
			beat.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			// 1000 ends the session: the bot shows offline at once.
			g.close(conn, websocket.CloseNormalClosure, "Klaxon is shutting down")
			return ctx.Err()
		case err := <-readErr:
			return g.closed(err)
		case <-helloC:
			return fmt.Errorf("discord gateway: no HELLO within %s", helloTimeout)
		case <-beatC:
			if !acked {
				// A zombie connection: Discord no longer answers.
				g.close(conn, closeResumable, "heartbeat not acknowledged")
				return fmt.Errorf("discord gateway: heartbeat not acknowledged within %s", interval)
			}
			if err := g.heartbeat(conn); err != nil {
				return err
			}
			acked = false
			beat.Reset(interval)
		case p := <-events:
			switch p.Op {
			case opHello:
				if beat != nil {
					continue
				}
				var d struct {
					HeartbeatInterval int64 `json:"heartbeat_interval"`
				}
				if err := json.Unmarshal(p.D, &d); err != nil || d.HeartbeatInterval <= 0 {
					return fmt.Errorf("discord gateway: HELLO without a heartbeat interval: %s", p.D)
				}
				hello.Stop()
				helloC = nil
				interval = time.Duration(d.HeartbeatInterval) * time.Millisecond
				// The first beat comes at a random point of the interval, so
				// that clients connecting together do not beat together.
				beat = time.NewTimer(rand.N(interval))
				beatC = beat.C
				if err := g.login(conn); err != nil {
					return err
				}
			case opHeartbeatACK:
				acked = true
			case opHeartbeat:
				// Discord asks for a beat now.
				if err := g.heartbeat(conn); err != nil {
					return err
				}
			case opDispatch:
				if p.S != nil {
					g.session.seq = *p.S
				}
				g.dispatch(ctx, p, target)
			case opReconnect:
				g.close(conn, closeResumable, "reconnecting as asked")
				return routineDrop("Discord asked for a reconnect")
			case opInvalidSession:
				var resumable bool
				_ = json.Unmarshal(p.D, &resumable)
				if !resumable {
					g.session = gatewaySession{}
				}
				g.close(conn, closeResumable, "session invalidated")
				return fmt.Errorf("discord gateway: Discord invalidated the session (resumable: %t)", resumable)
			}
		}
	}
}

// read hands what arrives on conn to serve until the connection fails.
func (g *gateway) read(ctx context.Context, conn *websocket.Conn, events chan<- gatewayPayload, errc chan<- error, done <-chan struct{}) {
	defer func() {
		if v := recover(); v != nil {
			g.h.log.ErrorContext(ctx, "panic reading the discord gateway", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			errc <- fmt.Errorf("discord gateway: panic reading: %v", v)
		}
	}()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			errc <- err
			return
		}
		var p gatewayPayload
		if err := json.Unmarshal(msg, &p); err != nil {
			g.h.log.WarnContext(ctx, "discord gateway message malformed; skipped", "err", err)
			continue
		}
		select {
		case events <- p:
		case <-done:
			return
		}
	}
}

// login opens the session on a new connection: RESUME when there is one to
// resume, IDENTIFY otherwise.
func (g *gateway) login(conn *websocket.Conn) error {
	if g.session.id != "" {
		return g.send(conn, opResume, resume{Token: g.token, SessionID: g.session.id, Seq: g.session.seq})
	}
	return g.send(conn, opIdentify, identify{
		Token:      g.token,
		Properties: identifyProperties{OS: runtime.GOOS, Browser: "klaxon", Device: "klaxon"},
	})
}

// heartbeat sends the last sequence number received (null before any).
func (g *gateway) heartbeat(conn *websocket.Conn) error {
	var seq *int64
	if g.session.seq > 0 {
		seq = &g.session.seq
	}
	return g.send(conn, opHeartbeat, seq)
}

func (g *gateway) send(conn *websocket.Conn, op int, d any) error {
	if err := conn.SetWriteDeadline(time.Now().Add(gatewayWriteTimeout)); err != nil {
		return fmt.Errorf("discord gateway: sending op %d: %w", op, err)
	}
	if err := conn.WriteJSON(gatewaySend{Op: op, D: d}); err != nil {
		return fmt.Errorf("discord gateway: sending op %d: %w", op, err)
	}
	return nil
}

// close tells Discord why the connection ends; serve then drops it.
func (g *gateway) close(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeTimeout))
}

// closed explains the end of a connection Discord closed or lost.
func (g *gateway) closed(err error) error {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return fmt.Errorf("discord gateway: reading: %w", err)
	}
	switch ce.Code {
	case 4004:
		return &refusedError{reason: "the bot token was refused", err: err}
	case 4010, 4011, 4012, 4013, 4014:
		// Shards, API version and intents are Klaxon's own configuration.
		return &refusedError{reason: "Discord refused Klaxon's identify", err: err}
	case 4007, 4009:
		// A bad sequence number or a timed-out session: nothing to resume.
		g.session = gatewaySession{}
	}
	return fmt.Errorf("discord gateway: closed by Discord: %w", err)
}

// dispatch handles an event. Interactions run on their own goroutines: a
// slow command must hold up neither the heartbeat nor the next command.
func (g *gateway) dispatch(ctx context.Context, p gatewayPayload, target string) {
	switch p.T {
	case "READY":
		var d struct {
			SessionID        string `json:"session_id"`
			ResumeGatewayURL string `json:"resume_gateway_url"`
		}
		if err := json.Unmarshal(p.D, &d); err != nil || d.SessionID == "" {
			g.h.log.WarnContext(ctx, "discord gateway READY without a session; it cannot be resumed", "err", err)
			return
		}
		g.session.id, g.session.resumeURL = d.SessionID, d.ResumeGatewayURL
		if g.session.resumeURL == "" {
			g.session.resumeURL = target
		}
		g.h.log.InfoContext(ctx, "discord gateway connected")
	case "RESUMED":
		g.h.log.InfoContext(ctx, "discord gateway resumed", "seq", g.session.seq)
	case "INTERACTION_CREATE":
		go g.interaction(ctx, p.D)
	}
}

// interaction runs an interaction from the Gateway through the same command
// and button path as the interactions endpoint.
func (g *gateway) interaction(ctx context.Context, raw json.RawMessage) {
	defer func() {
		if v := recover(); v != nil {
			g.h.log.ErrorContext(ctx, "panic in a discord gateway interaction", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	var in interaction
	if err := json.Unmarshal(raw, &in); err != nil {
		g.h.log.WarnContext(ctx, "discord interaction malformed", "err", err)
		return
	}
	rs := callback{client: g.rest, log: g.h.log, in: &in}
	switch in.Type {
	case discordgo.InteractionApplicationCommand:
		g.h.command(ctx, &in, rs)
	case discordgo.InteractionMessageComponent:
		g.h.button(ctx, &in, rs)
	default:
		g.h.log.WarnContext(ctx, "discord interaction of unsupported type", "interaction_id", in.ID, "type", int(in.Type))
	}
}

// callback answers an interaction from the Gateway through its REST
// callback.
type callback struct {
	client *Client
	log    *slog.Logger
	in     *interaction
}

func (c callback) respond(ctx context.Context, r response) {
	// The answer is due even while Klaxon shuts down.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callbackTimeout)
	defer cancel()
	if err := c.client.respondInteraction(ctx, c.in.ID, c.in.Token, r); err != nil {
		c.log.ErrorContext(ctx, "answering a discord interaction failed", "interaction_id", c.in.ID, "err", err)
	}
}

// refuse sends nothing: Discord shows the interaction as failed, and the
// caller has logged why.
func (callback) refuse(context.Context, int, string) {}

// gatewayBot is Discord's answer to GET /gateway/bot.
type gatewayBot struct {
	URL               string `json:"url"`
	SessionStartLimit struct {
		Remaining int `json:"remaining"`
		// ResetAfter is in milliseconds.
		ResetAfter int64 `json:"reset_after"`
	} `json:"session_start_limit"`
}

// startWait is how long to wait before identifying: until the daily limit
// of new sessions resets, when none is left.
func (b *gatewayBot) startWait() time.Duration {
	if l := b.SessionStartLimit; l.Remaining <= 0 && l.ResetAfter > 0 {
		return time.Duration(l.ResetAfter) * time.Millisecond
	}
	return 0
}

// gatewayBot asks Discord where the bot's Gateway is.
func (c *Client) gatewayBot(ctx context.Context) (*gatewayBot, error) {
	const op = "finding the gateway"
	var body []byte
	err := c.call(ctx, op, func(opt discordgo.RequestOption) (err error) {
		body, err = c.s.RequestWithBucketID(http.MethodGet, apiV10+"gateway/bot", nil, apiV10+"gateway/bot", opt)
		return err
	})
	if err != nil {
		return nil, err
	}
	var b gatewayBot
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("discord: %s: %w", op, err)
	}
	if b.URL == "" {
		return nil, fmt.Errorf("discord: %s: the answer names no URL", op)
	}
	return &b, nil
}

// respondInteraction sends an interaction's initial response to its
// callback: the body the interactions endpoint would have answered with.
func (c *Client) respondInteraction(ctx context.Context, id, token string, r response) error {
	op := "answering interaction " + id
	if id == "" || token == "" {
		return escalation.Permanent(fmt.Errorf("discord: %s: no interaction ID or token", op))
	}
	prefix := apiV10 + "interactions/" + url.PathEscape(id) + "/"
	return c.call(ctx, op, func(opt discordgo.RequestOption) error {
		// One rate-limit bucket for all callbacks, as for follow-ups.
		_, err := c.s.RequestWithBucketID(http.MethodPost, prefix+url.PathEscape(token)+"/callback", r, apiV10+"interactions/callback", opt)
		// A transport error names the URL, and the URL holds the token.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = prefix + "REDACTED/callback"
		}
		return err
	})
}

// plainHTTP reports whether the client's base URL is plain http: a local
// test server, the only place a ws:// Gateway may be.
func (c *Client) plainHTTP() bool {
	rb, ok := c.s.Client.Transport.(*rebase)
	return ok && rb.base.Scheme == "http"
}
