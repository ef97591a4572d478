package status

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// SignatureHeader carries a subscriber delivery's signature:
// "sha256=" and the hex HMAC-SHA256 of the raw body with the shared secret.
const SignatureHeader = "X-Klaxon-Signature"

// Subscriber delivers each public update to a webhook as signed JSON. It
// implements escalation.Chat, so deliveries go through the engine's
// per-follower outbox: retried with backoff, never in the way of paging.
type Subscriber struct {
	Page   string
	URL    string
	Secret string
	Client *http.Client
	// IncidentID is an incident's public id, the one the status page
	// shows (nil: its number): the page does not count incidents, and
	// neither may its webhooks.
	IncidentID func(ctx context.Context, n int64) (string, error)
}

// SubscriberEvent is the JSON a subscriber receives.
type SubscriberEvent struct {
	Page     string `json:"page"`
	Incident struct {
		ID        string                  `json:"id"`
		Title     string                  `json:"title"`
		Status    escalation.PublicStatus `json:"status"`
		StartedAt time.Time               `json:"started_at"`
	} `json:"incident"`
	Update struct {
		Status  escalation.PublicStatus `json:"status"`
		Message string                  `json:"message"`
		At      time.Time               `json:"at"`
	} `json:"update"`
}

// Sign is the signature header value of body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Post follows an incident once it is public.
func (s *Subscriber) Post(_ context.Context, inc *escalation.Incident) (string, error) {
	if inc.Public == nil {
		return "", nil
	}
	return "subscribed", nil
}

// Follows (escalation.Follower): public updates are all it shows.
func (*Subscriber) Follows(k escalation.EventKind) bool { return k == escalation.EventPublicUpdate }

// Update has nothing to do: subscribers get updates, not redraws.
func (s *Subscriber) Update(context.Context, string, *escalation.Incident) error { return nil }

// Reply delivers a public update.
func (s *Subscriber) Reply(ctx context.Context, _ string, inc *escalation.Incident, ev escalation.Event) error {
	if ev.Kind != escalation.EventPublicUpdate || inc.Public == nil {
		return nil
	}
	var msg SubscriberEvent
	msg.Page = s.Page
	msg.Incident.ID = strconv.FormatInt(inc.ID, 10)
	if s.IncidentID != nil {
		id, err := s.IncidentID(ctx, inc.ID)
		if err != nil {
			return fmt.Errorf("subscriber: %w", err)
		}
		msg.Incident.ID = id
	}
	// The incident's status as of this update, which a delivery delayed
	// past later updates must not show as the later one.
	msg.Incident.Title, msg.Incident.Status, msg.Incident.StartedAt = inc.Public.Title, ev.Status, inc.Public.StartedAt
	msg.Update.Status, msg.Update.Message, msg.Update.At = ev.Status, ev.Message, ev.At
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("subscriber: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return escalation.Permanent(fmt.Errorf("subscriber: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Klaxon status subscriber")
	req.Header.Set(SignatureHeader, Sign(s.Secret, body))
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("subscriber answered %s", resp.Status)
	}
	// 4xx: the subscriber refuses (gone, bad URL); retrying will not help.
	return escalation.Permanent(fmt.Errorf("subscriber answered %s", resp.Status))
}
