package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Provider is the Delivery.Provider of pages sent through Twilio.
const Provider = "twilio"

const (
	defaultBaseURL = "https://api.twilio.com"
	defaultTimeout = 15 * time.Second
	// maxResponse bounds what is read of a Twilio reply; real ones are ~2 KiB.
	maxResponse = 64 << 10
	// ringSeconds is how long a call rings before Twilio gives up.
	ringSeconds = "30"
)

// Options configure a Client.
type Options struct {
	AccountSID, AuthToken, From string
	// BaseURL defaults to https://api.twilio.com; tests point it at httptest.
	BaseURL string
	// PublicURL is Klaxon's externally reachable base URL; voice pages need
	// it for the keypress callback.
	PublicURL string
	// HTTPClient defaults to a client with a 15s timeout.
	HTTPClient *http.Client
}

// Client sends SMS and voice pages through Twilio. It implements
// escalation.Pager.
type Client struct {
	accountSID, authToken, from string
	baseURL, publicURL          string
	http                        *http.Client
}

var _ escalation.Pager = (*Client)(nil)

// NewClient builds a Client, filling in defaults.
func NewClient(o Options) *Client {
	c := &Client{
		accountSID: o.AccountSID,
		authToken:  o.AuthToken,
		from:       o.From,
		baseURL:    strings.TrimRight(o.BaseURL, "/"),
		publicURL:  strings.TrimRight(o.PublicURL, "/"),
		http:       o.HTTPClient,
	}
	if c.baseURL == "" {
		c.baseURL = defaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	return c
}

// Send delivers an SMS or voice page. Failures retrying cannot fix (a
// rejected number, bad credentials, an unsupported channel) are
// escalation.Permanent; throttling, Twilio outages and network errors are
// not.
func (c *Client) Send(ctx context.Context, p escalation.Page) (escalation.Delivery, error) {
	form := url.Values{"To": {p.Address}, "From": {c.from}}
	var resource string
	switch p.Channel {
	case escalation.ChannelSMS:
		resource = "Messages.json"
		form.Set("Body", truncateUTF16(p.Text, maxSMSChars))
	case escalation.ChannelVoice:
		if c.publicURL == "" {
			return escalation.Delivery{}, escalation.Permanent(errors.New("twilio: voice pages need the public URL for keypress callbacks"))
		}
		resource = "Calls.json"
		form.Set("Twiml", gatherTwiML(gatherURL(c.publicURL, p.ID), p.Text, ""))
		form.Set("Timeout", ringSeconds)
	default:
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("twilio cannot deliver channel %s", p.Channel))
	}
	if p.Address == "" {
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("twilio: page %d has no phone number", p.ID))
	}
	if c.publicURL != "" {
		// Delivery receipts: an SMS that is never delivered or a call nobody
		// answers moves the person to their next contact rule.
		form.Set("StatusCallback", statusURL(c.publicURL, p.ID))
	}

	endpoint := c.baseURL + "/2010-04-01/Accounts/" + url.PathEscape(c.accountSID) + "/" + resource
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		// Only a malformed BaseURL gets here; no retry will mend config.
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("twilio: building request: %w", err))
	}
	req.SetBasicAuth(c.accountSID, c.authToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("I-Twilio-Idempotency-Token", p.IdempotencyKey())

	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds the account SID but never
		// the token (that travels in the Authorization header).
		return escalation.Delivery{}, fmt.Errorf("twilio: sending %s page %d: %w", p.Channel, p.ID, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Twilio accepted the page: a retry would page the person twice, so
		// an unreadable reply only costs the provider ID.
		var created struct {
			SID string `json:"sid"`
		}
		if readErr == nil {
			_ = json.Unmarshal(body, &created)
		}
		return escalation.Delivery{Provider: Provider, ProviderID: created.SID}, nil
	}
	return escalation.Delivery{}, statusError(resp.StatusCode, body)
}

// apiError is Twilio's REST error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// statusError turns a non-2xx reply into an error, permanent for client
// errors other than throttling and timeouts.
func statusError(status int, body []byte) error {
	var e apiError
	var err error
	if json.Unmarshal(body, &e) == nil && (e.Code != 0 || e.Message != "") {
		err = fmt.Errorf("twilio %d: %s", e.Code, e.Message)
	} else {
		err = fmt.Errorf("twilio: HTTP %d %s", status, http.StatusText(status))
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
		return escalation.Permanent(err)
	}
	return err
}
