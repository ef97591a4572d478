package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBody bounds what is read of Slack's answer to a response_url
// POST: "ok", or a short error such as "expired_url".
const maxResponseBody = 4 << 10

// postResponse sends msg to a response_url, logging any failure: by then
// Slack has had its answer and there is nobody else to tell.
func (h *Handler) postResponse(ctx context.Context, responseURL string, msg *message, attrs []any) {
	ctx, cancel := context.WithTimeout(ctx, followUpTimeout)
	defer cancel()
	if err := h.post(ctx, responseURL, msg); err != nil {
		h.log.ErrorContext(ctx, "slack reply not delivered", append(attrs, "err", err)...)
		return
	}
	h.log.DebugContext(ctx, "slack reply delivered", attrs...)
}

func (h *Handler) post(ctx context.Context, responseURL string, msg *message) error {
	if err := checkResponseURL(responseURL); err != nil {
		return err
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encoding reply: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building response_url request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.http.Do(req)
	if err != nil {
		// The error names the URL; a response_url is a short-lived
		// capability for this one interaction, not a standing secret.
		return fmt.Errorf("posting to response_url: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("response_url answered HTTP %d: %q", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	// Slack answers a bad message with 200 and {"ok":false,"error":...}.
	var status struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(answer, &status) == nil && status.OK != nil && !*status.OK {
		return fmt.Errorf("response_url refused the reply: %s", status.Error)
	}
	return nil
}

// checkResponseURL allows only Slack's own https hosts: the URL comes from a
// signed payload, but Klaxon still never posts to an address of a caller's
// choosing.
func checkResponseURL(raw string) error {
	if raw == "" {
		return errors.New("no response_url to reply to")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("response_url is not a URL: %w", err)
	}
	host := strings.ToLower(u.Hostname())
	for _, domain := range []string{"slack.com", "slack-gov.com"} {
		if u.Scheme == "https" && (host == domain || strings.HasSuffix(host, "."+domain)) {
			return nil
		}
	}
	return fmt.Errorf("response_url %s://%s is not Slack's", u.Scheme, u.Host)
}
