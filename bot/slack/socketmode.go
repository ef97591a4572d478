package slack

import (
	"context"
	"net/http"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const (
	defaultMinBackoff = time.Second
	defaultMaxBackoff = 5 * time.Minute
)

// SocketModeOptions configure RunSocketMode.
type SocketModeOptions struct {
	// AppToken is the app-level token (xapp-...) with connections:write.
	AppToken string
	// BaseURL defaults to https://slack.com/api/; tests point it at httptest.
	BaseURL string
	// HTTPClient opens connections (apps.connections.open). Default: a
	// client with a 15s timeout.
	HTTPClient *http.Client
	// MinBackoff and MaxBackoff bound the wait between attempts when Slack
	// refuses the connection outright (a revoked token, say). Defaults 1s
	// and 5m. Dropped connections are reopened by slack-go at once.
	MinBackoff, MaxBackoff time.Duration
}

// RunSocketMode receives slash commands and button clicks over Slack's
// Socket Mode, for a Klaxon without a public URL, and runs them exactly as
// the HTTP endpoints do; no signing secret is needed, the connection is
// authenticated by the app token. It keeps reconnecting, with backoff, until
// ctx ends, and only then returns: run it in its own goroutine. It never
// fails or holds up startup.
func (h *Handler) RunSocketMode(ctx context.Context, o SocketModeOptions) {
	base := o.BaseURL
	if base == "" {
		base = defaultAPIURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultAPITimeout}
	}
	minWait, maxWait := o.MinBackoff, o.MaxBackoff
	if minWait <= 0 {
		minWait = defaultMinBackoff
	}
	if maxWait < minWait {
		maxWait = max(defaultMaxBackoff, minWait)
	}
	if o.AppToken == "" {
		h.log.ErrorContext(ctx, "slack socket mode has no app token; not connecting")
		return
	}
	api := slackgo.New("", slackgo.OptionAppLevelToken(o.AppToken), slackgo.OptionAPIURL(base), slackgo.OptionHTTPClient(hc))

	wait := minWait
	for {
		started := time.Now()
		err := h.runSocket(ctx, socketmode.New(api))
		if ctx.Err() != nil {
			return
		}
		// A connection that lasted starts the backoff over.
		if time.Since(started) > maxWait {
			wait = minWait
		}
		h.log.ErrorContext(ctx, "slack socket mode connection failed; retrying", "err", err, "retry_in", wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		wait = min(wait*2, maxWait)
	}
}

// runSocket runs one socketmode client until it gives up or ctx ends.
func (h *Handler) runSocket(ctx context.Context, client *socketmode.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			return err
		case evt := <-client.Events:
			h.socketEvent(ctx, client, evt)
		}
	}
}

// acker is the part of the socketmode client that answers a request.
type acker interface {
	AckCtx(ctx context.Context, envelopeID string, payload any) error
}

func (h *Handler) socketEvent(ctx context.Context, client acker, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		h.log.InfoContext(ctx, "slack socket mode connected")
	case socketmode.EventTypeConnectionError:
		var err error
		if e, ok := evt.Data.(*slackgo.ConnectionErrorEvent); ok {
			err = e.ErrorObj
		}
		h.log.WarnContext(ctx, "slack socket mode cannot connect; slack-go retries", "err", err)
	case socketmode.EventTypeInvalidAuth:
		h.log.ErrorContext(ctx, "slack socket mode: the app token is not valid")
	case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed, socketmode.EventTypeIncomingError:
		h.log.WarnContext(ctx, "slack socket mode error", "type", string(evt.Type))
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slackgo.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		if sc.UserID == "" {
			h.log.WarnContext(ctx, "slack socket mode slash command has no user_id", "envelope_id", req.EnvelopeID)
			h.ack(ctx, client, req, nil)
			return
		}
		// Each command in its own goroutine: a slow one must not hold up
		// the next one's 3 seconds.
		attrs := []any{"source", "slash_command", "slack_user_id", sc.UserID, "envelope_id", req.EnvelopeID}
		h.later(ctx, attrs, func(ctx context.Context) {
			h.ack(ctx, client, req, h.handle(ctx, request{
				source: "slash_command", userID: sc.UserID, text: sc.Text, responseURL: sc.ResponseURL,
			}))
		})
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slackgo.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		// A click is answered at once; its outcome goes to response_url.
		h.ack(ctx, client, *evt.Request, nil)
		req, ignored, err := buttonRequest(cb)
		switch {
		case err != nil:
			h.log.WarnContext(ctx, "slack interaction refused", "reason", err.Error(), "slack_user_id", cb.User.ID)
		case ignored != "":
			h.log.InfoContext(ctx, "slack interaction ignored", "reason", ignored, "slack_user_id", cb.User.ID)
		default:
			h.handle(ctx, req)
		}
	case socketmode.EventTypeEventsAPI:
		// Klaxon subscribes to no events; acknowledged so Slack does not
		// send them again.
		if evt.Request != nil {
			h.ack(ctx, client, *evt.Request, nil)
		}
	}
}

// ack answers a request, with a message or (nil) without. The timeout
// matters: with the connection gone the answer would wait forever.
func (h *Handler) ack(ctx context.Context, client acker, req socketmode.Request, msg *message) {
	ctx, cancel := context.WithTimeout(ctx, followUpTimeout)
	defer cancel()
	var payload any // a nil *message would be sent as "payload": null
	if msg != nil {
		payload = msg
	}
	if err := client.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		h.log.ErrorContext(ctx, "slack socket mode: acknowledging", "envelope_id", req.EnvelopeID, "err", err)
	}
}
