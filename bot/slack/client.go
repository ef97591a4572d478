package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	defaultAPIURL     = "https://slack.com/api/"
	defaultAPITimeout = 15 * time.Second
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Token is the bot token (xoxb-...).
	Token string
	// BaseURL defaults to https://slack.com/api/; tests point it at httptest.
	BaseURL string
	// HTTPClient defaults to a client with a 15s timeout.
	HTTPClient *http.Client
}

// Client posts Klaxon's messages through Slack's Web API.
//
// Its errors say which call failed and carry Slack's error string. Failures
// retrying cannot fix (bad token, unknown channel or user, the bot not in the
// channel, a rejected message) are escalation.Permanent; throttling is a
// *RateLimitError with Slack's Retry-After; outages and network errors are
// plain errors worth retrying.
type Client struct {
	api *slackgo.Client
}

// NewClient builds a Client, filling in defaults.
func NewClient(o ClientOptions) *Client {
	base := o.BaseURL
	if base == "" {
		base = defaultAPIURL
	}
	// slack-go appends the method name to the URL as is.
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultAPITimeout}
	}
	// slack-go's own retries stay off: a caller's outbox decides when to
	// try again, and it needs to see the 429 to do so.
	return &Client{api: slackgo.New(o.Token, slackgo.OptionAPIURL(base), slackgo.OptionHTTPClient(hc))}
}

// PostIncident posts the incident's message to a channel and returns the
// message's ts, which UpdateIncident and Reply need.
func (c *Client) PostIncident(ctx context.Context, channel string, inc *escalation.Incident) (string, error) {
	_, ts, err := c.api.PostMessageContext(ctx, channel,
		slackgo.MsgOptionText(IncidentText(inc), false),
		slackgo.MsgOptionBlocks(IncidentBlocks(inc)...))
	if err != nil {
		return "", apiError("chat.postMessage", "channel "+channel, err)
	}
	if ts == "" {
		// Posted, but it can never be updated; posting again would duplicate it.
		return "", escalation.Permanent(fmt.Errorf("slack chat.postMessage (channel %s): answer has no ts", channel))
	}
	return ts, nil
}

// UpdateIncident re-renders the incident's message in place.
func (c *Client) UpdateIncident(ctx context.Context, channel, ts string, inc *escalation.Incident) error {
	_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts,
		slackgo.MsgOptionText(IncidentText(inc), false),
		slackgo.MsgOptionBlocks(IncidentBlocks(inc)...))
	if err != nil {
		return apiError("chat.update", "channel "+channel+" ts "+ts, err)
	}
	return nil
}

// Reply posts text in the thread of the message threadTS: the incident's
// timeline, mirrored under its message.
func (c *Client) Reply(ctx context.Context, channel, threadTS, text string) error {
	_, _, err := c.api.PostMessageContext(ctx, channel,
		slackgo.MsgOptionText(slackutilsx.EscapeMessage(text), false),
		slackgo.MsgOptionTS(threadTS))
	if err != nil {
		return apiError("chat.postMessage", "channel "+channel+" thread "+threadTS, err)
	}
	return nil
}

// Say posts text to a channel as a message of its own (public updates).
func (c *Client) Say(ctx context.Context, channel, text string) error {
	_, _, err := c.api.PostMessageContext(ctx, channel, slackgo.MsgOptionText(slackutilsx.EscapeMessage(text), false))
	if err != nil {
		return apiError("chat.postMessage", "channel "+channel, err)
	}
	return nil
}

// DirectMessage sends text to a user in their DM with the bot.
func (c *Client) DirectMessage(ctx context.Context, userID, text string) error {
	ch, _, _, err := c.api.OpenConversationContext(ctx, &slackgo.OpenConversationParameters{Users: []string{userID}})
	if err != nil {
		return apiError("conversations.open", "user "+userID, err)
	}
	if ch == nil || ch.ID == "" {
		return fmt.Errorf("slack conversations.open (user %s): answer has no channel", userID)
	}
	_, _, err = c.api.PostMessageContext(ctx, ch.ID, slackgo.MsgOptionText(slackutilsx.EscapeMessage(text), false))
	if err != nil {
		return apiError("chat.postMessage", "DM "+ch.ID+" to user "+userID, err)
	}
	return nil
}

// RateLimitError is Slack's HTTP 429: the call may be made again after
// RetryAfter.
type RateLimitError struct {
	Method     string
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("slack %s: rate limited; retry after %s", e.Method, e.RetryAfter)
}

// Retryable reports true: a throttled call succeeds later.
func (e *RateLimitError) Retryable() bool { return true }

// RetryAfterWait is how long Slack asked to wait (escalation.RetryAfter).
func (e *RateLimitError) RetryAfterWait() time.Duration { return e.RetryAfter }

// permanentError reports whether a Slack error string is one no retry will
// mend: it needs a change of token, scopes, config or message.
func permanentError(code string) bool {
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "ekm_access_denied",
		"team_access_not_granted", "org_login_required", "two_factor_setup_required",
		"channel_not_found", "not_in_channel", "is_archived", "restricted_action",
		"user_not_found", "user_not_visible", "user_disabled", "cannot_dm_bot", "users_not_found",
		"message_not_found", "cant_update_message", "edit_window_closed", "thread_not_found",
		"msg_too_long", "no_text", "too_many_attachments", "invalid_blocks", "invalid_blocks_format",
		"invalid_arguments", "invalid_arg_name", "invalid_array_arg", "invalid_charset",
		"invalid_form_data", "invalid_post_type", "missing_post_type", "invalid_ts",
		"method_deprecated", "deprecated_endpoint":
		return true
	}
	return false
}

// apiError wraps a slack-go error with the method and what it was about,
// classified for retrying.
func apiError(method, about string, err error) error {
	if rl, ok := errors.AsType[*slackgo.RateLimitedError](err); ok {
		return &RateLimitError{Method: method, RetryAfter: rl.RetryAfter}
	}
	wrapped := fmt.Errorf("slack %s (%s): %w", method, about, err)
	if se, ok := errors.AsType[slackgo.SlackErrorResponse](err); ok && se.Err == "message_not_found" {
		return escalation.Permanent(fmt.Errorf("%w: %w", escalation.ErrMessageGone, wrapped))
	}
	if se, ok := errors.AsType[slackgo.SlackErrorResponse](err); ok && (se.Err == "msg_too_long" || se.Err == "no_text" ||
		se.Err == "invalid_blocks" || se.Err == "invalid_blocks_format") {
		return escalation.Permanent(fmt.Errorf("%w: %w", escalation.ErrEntryRefused, wrapped))
	}
	if se, ok := errors.AsType[slackgo.SlackErrorResponse](err); ok && permanentError(se.Err) {
		return escalation.Permanent(wrapped)
	}
	if sc, ok := errors.AsType[slackgo.StatusCodeError](err); ok {
		// A 404 or 410 is a wrong API URL; 429 without Retry-After and 408
		// are worth another try.
		if sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusTooManyRequests && sc.Code != http.StatusRequestTimeout {
			return escalation.Permanent(wrapped)
		}
	}
	return wrapped
}
