package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	// DefaultBaseURL is where Discord's REST API lives; discordgo's
	// endpoints are built on it.
	DefaultBaseURL = "https://discord.com"
	discordHost    = "discord.com"
	defaultTimeout = 15 * time.Second

	// threadName names the thread that mirrors an incident's timeline under
	// its message; the message itself says which incident it is.
	threadName = "Incident timeline"
	// threadArchiveMinutes: a day of quiet archives the thread; the next
	// reply unarchives it.
	threadArchiveMinutes = 1440
)

// Discord JSON error codes Klaxon acts on.
const (
	codeUnknownChannel       = 10003
	codeThreadAlreadyCreated = 160004
)

// noMentions keeps anything Klaxon posts from pinging: incident titles come
// from monitors, and "@everyone disk full" must not wake the whole server.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// ClientOptions configure a Client.
type ClientOptions struct {
	// Token is the bot token, with or without the "Bot " prefix.
	Token string
	// BaseURL defaults to https://discord.com; tests point it at httptest.
	BaseURL string
	// Transport carries the rewritten requests; it defaults to
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds one request; it defaults to 15s.
	Timeout time.Duration
}

// Client talks to Discord's REST API as the Klaxon bot: incident messages,
// their timeline threads, direct messages, interaction follow-ups and the
// registration of /klaxon. Every method honours its context, even while
// discordgo waits out a rate limit.
type Client struct {
	s *discordgo.Session
}

// NewClient builds a Client. discordgo builds every URL on its package-level
// endpoints, which must not be changed (they are shared by every session),
// so the session's HTTP client rewrites requests for discord.com to BaseURL
// instead.
func NewClient(o ClientOptions) (*Client, error) {
	fields := strings.Fields(o.Token)
	if len(fields) > 0 && fields[0] == "Bot" {
		fields = fields[1:]
	}
	if len(fields) != 1 {
		// The token itself is never echoed.
		return nil, errors.New("discord: the bot token is empty or malformed")
	}
	token := fields[0]
	raw := o.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("discord: base URL %q: want http(s)://host[/path]", raw)
	}
	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, fmt.Errorf("discord: creating session: %w", err)
	}
	s.Client = &http.Client{Timeout: timeout, Transport: &rebase{base: base, next: transport}}
	// discordgo would sleep out a 429 and retry a 502 on its own, blind to
	// the caller's context; retries belong to the caller, who backs off.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	// No Gateway: nothing fills the state cache.
	s.StateEnabled = false
	// Every REST error is returned to the caller, who logs it with slog;
	// discordgo would also print it to the standard logger.
	s.LogLevel = discordgo.LogError - 1
	return &Client{s: s}, nil
}

// rebase sends discordgo's requests for discord.com to the configured base
// URL and refuses every other host, so the bot token that discordgo attaches
// to each request can only travel to Discord (or the test server).
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != discordHost {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("discord: refusing request to host %q", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = t.base.Scheme
	out.URL.Host = t.base.Host
	if p := t.base.Path; p != "" {
		out.URL.Path = p + req.URL.Path
		if req.URL.RawPath != "" {
			out.URL.RawPath = t.base.EscapedPath() + req.URL.RawPath
		}
	}
	out.Host = ""
	resp, err := t.next.RoundTrip(out)
	if tr, ok := req.Context().Value(traceKey{}).(*trace); ok && err == nil {
		tr.status, tr.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	return resp, err
}

// trace is what the transport saw of a call's last response, for the
// errors discordgo reports without it: a 429 whose body is not Discord's
// JSON (a proxy's page) and a 502.
type trace struct {
	status     int
	retryAfter string
}

type traceKey struct{}

// PostIncident posts an incident's message (embed and buttons) to a channel
// and returns the message ID, which UpdateIncident and Reply need.
func (c *Client) PostIncident(ctx context.Context, channelID string, inc *escalation.Incident) (string, error) {
	op := fmt.Sprintf("posting incident #%d to channel %s", inc.ID, channelID)
	if channelID == "" {
		return "", escalation.Permanent(fmt.Errorf("discord: %s: no channel ID", op))
	}
	embeds, components := IncidentMessage(inc)
	var msg *discordgo.Message
	err := c.call(ctx, op, func(opt discordgo.RequestOption) (err error) {
		msg, err = c.s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
			Embeds:          embeds,
			Components:      components,
			AllowedMentions: noMentions(),
		}, opt)
		return err
	})
	if err != nil {
		return "", err
	}
	if msg == nil || msg.ID == "" {
		// Posted, but the ID is lost: a retry would post a duplicate.
		return "", escalation.Permanent(fmt.Errorf("discord: %s: response carries no message ID", op))
	}
	return msg.ID, nil
}

// UpdateIncident re-renders an incident's message in place, so the channel
// shows its status and only the buttons that still apply.
func (c *Client) UpdateIncident(ctx context.Context, channelID, messageID string, inc *escalation.Incident) error {
	op := fmt.Sprintf("updating incident #%d message %s in channel %s", inc.ID, messageID, channelID)
	if channelID == "" || messageID == "" {
		return escalation.Permanent(fmt.Errorf("discord: %s: channel and message IDs are required", op))
	}
	embeds, components := IncidentMessage(inc)
	edit := discordgo.NewMessageEdit(channelID, messageID)
	edit.Embeds = &embeds
	edit.Components = &components
	edit.AllowedMentions = noMentions()
	return c.call(ctx, op, func(opt discordgo.RequestOption) error {
		_, err := c.s.ChannelMessageEditComplex(edit, opt)
		return err
	})
}

// Reply adds a line of the incident's timeline to the thread under its
// message. A thread keeps the alert channel to one message per incident
// while the story of each stays readable in one place; replies referencing
// the message would interleave every incident's timeline in the channel.
//
// A thread started from a message takes the message's ID, so Reply needs no
// record of threads: it sends into the thread and starts it only when
// Discord says it does not exist yet. When two replies race to start it, the
// loser's "thread already created" is as good as success.
func (c *Client) Reply(ctx context.Context, channelID, messageID, text string) error {
	op := fmt.Sprintf("replying to message %s in channel %s", messageID, channelID)
	if channelID == "" || messageID == "" {
		return escalation.Permanent(fmt.Errorf("discord: %s: channel and message IDs are required", op))
	}
	err := c.send(ctx, op, messageID, text)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Code != codeUnknownChannel {
		return err
	}
	err = c.call(ctx, op+": starting thread", func(opt discordgo.RequestOption) error {
		_, err := c.s.MessageThreadStart(channelID, messageID, threadName, threadArchiveMinutes, opt)
		return err
	})
	if err != nil && !(errors.As(err, &apiErr) && apiErr.Code == codeThreadAlreadyCreated) {
		return err
	}
	return c.send(ctx, op, messageID, text)
}

// DirectMessage sends text to a user's DMs.
func (c *Client) DirectMessage(ctx context.Context, userID, text string) error {
	op := "sending a direct message to user " + userID
	if userID == "" {
		return escalation.Permanent(fmt.Errorf("discord: %s: no user ID", op))
	}
	var ch *discordgo.Channel
	err := c.call(ctx, op+": opening DM channel", func(opt discordgo.RequestOption) (err error) {
		ch, err = c.s.UserChannelCreate(userID, opt)
		return err
	})
	if err != nil {
		return err
	}
	if ch == nil || ch.ID == "" {
		return fmt.Errorf("discord: %s: DM channel response carries no ID", op)
	}
	return c.send(ctx, op, ch.ID, text)
}

// send posts a plain message that pings no one.
// Say posts text to a channel as a message of its own (public updates);
// it can mention nobody.
func (c *Client) Say(ctx context.Context, channelID, text string) error {
	if channelID == "" {
		return escalation.Permanent(errors.New("discord: saying in a channel: no channel ID"))
	}
	return c.send(ctx, "posting to channel "+channelID, channelID, text)
}

func (c *Client) send(ctx context.Context, op, channelID, text string) error {
	return c.call(ctx, op, func(opt discordgo.RequestOption) error {
		_, err := c.s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
			// Discord refuses longer; a timeline entry or public update
			// is shown cut rather than not at all.
			Content:         truncate(text, maxContent),
			AllowedMentions: noMentions(),
		}, opt)
		return err
	})
}

// CommandOption is the one option of /klaxon: the whole command line.
const CommandOption = "command"

// Command is the /klaxon slash command. It takes the command line as one
// string rather than as subcommands, so everything bot.Parse accepts can be
// typed ("ack all", "a42", "resolve 42 rolled back") and the grammar lives in
// one place: a new verb needs no re-registration.
func Command() *discordgo.ApplicationCommand {
	return &discordgo.ApplicationCommand{
		Type:        discordgo.ChatApplicationCommand,
		Name:        "klaxon",
		Description: "Act on Klaxon incidents",
		Contexts:    &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM},
		Options: []*discordgo.ApplicationCommandOption{{
			Type:        discordgo.ApplicationCommandOptionString,
			Name:        CommandOption,
			Description: `e.g. "ack 42", "ack all", "resolve 42 rolled back", "help"`,
			Required:    true,
			MaxLength:   200,
		}},
	}
}

// RegisterCommands makes /klaxon the application's only command: in one
// guild (available at once) or, with guildID "", globally. It is meant to
// run in the background at startup; it returns when ctx is done even if
// Discord or its rate limit holds the request.
func (c *Client) RegisterCommands(ctx context.Context, appID, guildID string) error {
	op := "registering /klaxon globally"
	if guildID != "" {
		op = "registering /klaxon in guild " + guildID
	}
	if appID == "" {
		return escalation.Permanent(fmt.Errorf("discord: %s: no application ID", op))
	}
	return c.call(ctx, op, func(opt discordgo.RequestOption) error {
		_, err := c.s.ApplicationCommandBulkOverwrite(appID, guildID, []*discordgo.ApplicationCommand{Command()}, opt)
		return err
	})
}

// EditResponse replaces an interaction's original response: the deferred
// reply of a command, or the message whose button was pressed.
func (c *Client) EditResponse(ctx context.Context, appID, token string, edit *discordgo.WebhookEdit) error {
	return c.call(ctx, "editing an interaction response", func(opt discordgo.RequestOption) error {
		_, err := c.s.WebhookMessageEdit(appID, token, "@original", edit, opt)
		return err
	})
}

// FollowUp sends a further message for an interaction that only the person
// who acted sees.
func (c *Client) FollowUp(ctx context.Context, appID, token, text string) error {
	msg := followUp{Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions()}
	return c.call(ctx, "sending an interaction follow-up", func(opt discordgo.RequestOption) error {
		// One rate-limit bucket for all follow-ups: discordgo's
		// WebhookExecute keys it by the token, a new bucket per interaction
		// that is never freed.
		_, err := c.s.RequestWithBucketID(http.MethodPost, discordgo.EndpointWebhookToken(appID, token), msg,
			discordgo.EndpointWebhookToken("", ""), opt)
		return err
	})
}

// followUp is the body of a follow-up message; discordgo's WebhookParams
// would also send "components": null.
type followUp struct {
	Content         string                            `json:"content"`
	Flags           discordgo.MessageFlags            `json:"flags,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
}

// call runs one discordgo request under ctx. discordgo's rate limiter sleeps
// without looking at the context, so the request runs in its own goroutine
// and call returns as soon as ctx is done; the request itself carries ctx
// and is abandoned with it.
func (c *Client) call(ctx context.Context, op string, fn func(discordgo.RequestOption) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("discord: %s: %w", op, err)
	}
	tr := &trace{}
	reqCtx := context.WithValue(ctx, traceKey{}, tr)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("panic in discordgo: %v", v)
			}
		}()
		done <- fn(discordgo.WithContext(reqCtx))
	}()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		// The goroutine is done with tr: reading it here is ordered after
		// its writes by the channel.
		return classify(op, err, tr)
	case <-ctx.Done():
		return fmt.Errorf("discord: %s: %w", op, ctx.Err())
	}
}

// APIError is a request Discord answered with an error status.
type APIError struct {
	Op     string
	Status int
	// Code and Message are Discord's JSON error (10003 "Unknown Channel"),
	// when it sent one.
	Code    int
	Message string
	// RetryAfter is how long Discord asked to wait (429).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "discord: %s: HTTP %d", e.Op, e.Status)
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, " (code %d: %s)", e.Code, e.Message)
	case e.Message != "":
		fmt.Fprintf(&b, " (%s)", e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: throttling
// and Discord's own failures, not a missing channel or permission.
// RetryAfterWait is how long Discord asked to wait (escalation.RetryAfter).
func (e *APIError) RetryAfterWait() time.Duration { return e.RetryAfter }

func (e *APIError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// RetryAfter reports how long Discord asked the caller to wait before
// retrying, when it was rate limited.
func RetryAfter(err error) (time.Duration, bool) {
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusTooManyRequests {
		return e.RetryAfter, true
	}
	return 0, false
}

// classify turns a discordgo error into an APIError (escalation.Permanent
// when retrying cannot help) or a wrapped, retryable error. URLs are
// redacted: an interaction's token is part of its webhook path.
// Discord's error codes for a message that does not exist (deleted), and
// for a message whose content it refuses (too long, say).
const (
	unknownMessage  = 10008
	invalidFormBody = 50035
)

func classify(op string, err error, tr *trace) error {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) && rl.RateLimit != nil && rl.TooManyRequests != nil {
		return &APIError{Op: op, Status: http.StatusTooManyRequests, Message: rl.Message, RetryAfter: rl.RetryAfter}
	}
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Response != nil {
		e := &APIError{Op: op, Status: rest.Response.StatusCode}
		if rest.Message != nil {
			e.Code, e.Message = rest.Message.Code, rest.Message.Message
		}
		if e.Retryable() {
			return e
		}
		if e.Code == unknownMessage {
			return escalation.Permanent(fmt.Errorf("%w: %w", escalation.ErrMessageGone, e))
		}
		if e.Code == invalidFormBody {
			return escalation.Permanent(fmt.Errorf("%w: %w", escalation.ErrEntryRefused, e))
		}
		return escalation.Permanent(e)
	}
	if tr.status == http.StatusTooManyRequests || tr.status >= 500 {
		e := &APIError{Op: op, Status: tr.status, Message: http.StatusText(tr.status)}
		if tr.status == http.StatusTooManyRequests {
			e.RetryAfter = parseRetryAfter(tr.retryAfter)
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("discord: %s: %s %s: %w", op, ue.Op, redactURL(ue.URL), ue.Err)
	}
	return fmt.Errorf("discord: %s: %w", op, err)
}

// parseRetryAfter reads a Retry-After header in (possibly fractional)
// seconds.
func parseRetryAfter(v string) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// redactURL drops the interaction token from /webhooks/{app}/{token} paths.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	parts := strings.Split(u.Path, "/")
	for i, p := range parts {
		if p == "webhooks" && i+2 < len(parts) {
			parts[i+2] = "REDACTED"
		}
	}
	u.Path, u.RawPath, u.RawQuery = strings.Join(parts, "/"), "", ""
	return u.String()
}
