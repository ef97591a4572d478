package slack

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	testBotToken = "xoxb-1234567890-0987654321-s3cr3tT0k3nValue"
	testChannel  = "C0INCIDENTS"
	testTS       = "1741914451.000200"
)

// Answers as Slack's Web API gives them.
const (
	postMessageOK = `{"ok":true,"channel":"C0INCIDENTS","ts":"1741914451.000200","message":{"type":"message","subtype":"bot_message","text":"[P1] #42 HighErrorRate on checkout-api (checkout-api): triggered","ts":"1741914451.000200","bot_id":"B0KLAXON"}}`
	updateOK      = `{"ok":true,"channel":"C0INCIDENTS","ts":"1741914451.000200","text":"[P1] #42 HighErrorRate on checkout-api (checkout-api): acknowledged by alice","message":{"type":"message","text":"updated","ts":"1741914451.000200"}}`
	threadReplyOK = `{"ok":true,"channel":"C0INCIDENTS","ts":"1741914499.000300","message":{"type":"message","text":"alice acknowledged","ts":"1741914499.000300","thread_ts":"1741914451.000200"}}`
	openDMOK      = `{"ok":true,"channel":{"id":"D0ALICE01"}}`
	dmOK          = `{"ok":true,"channel":"D0ALICE01","ts":"1741914500.000400","message":{"type":"message","text":"You are on call","ts":"1741914500.000400"}}`
)

// apiCall is one request the client made.
type apiCall struct {
	httpMethod, path, contentType, authorization string
	form                                         url.Values
}

// apiAnswer is what the fake Web API says to one method.
type apiAnswer struct {
	status     int
	retryAfter string
	body       string
}

// webAPI is a fake Slack Web API: it records form-encoded calls and answers
// per method.
type webAPI struct {
	t       *testing.T
	mu      sync.Mutex
	calls   []apiCall
	answers map[string]apiAnswer
}

func (a *webAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		a.t.Errorf("reading request: %v", err)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		a.t.Errorf("request body is not a form: %v", err)
	}
	a.mu.Lock()
	a.calls = append(a.calls, apiCall{
		httpMethod: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
		authorization: r.Header.Get("Authorization"), form: form,
	})
	ans, ok := a.answers[strings.TrimPrefix(r.URL.Path, "/api/")]
	a.mu.Unlock()
	if !ok {
		ans = apiAnswer{status: http.StatusNotFound, body: "<html>Not Found</html>"}
	}
	if ans.retryAfter != "" {
		w.Header().Set("Retry-After", ans.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if ans.status == 0 {
		ans.status = http.StatusOK
	}
	w.WriteHeader(ans.status)
	_, _ = io.WriteString(w, ans.body)
}

func (a *webAPI) Calls() []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func newTestClient(t *testing.T, answers map[string]apiAnswer) (*Client, *webAPI) {
	t.Helper()
	api := &webAPI{t: t, answers: answers}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	// Without the trailing slash slack-go would call /apichat.postMessage.
	return NewClient(ClientOptions{Token: testBotToken, BaseURL: srv.URL + "/api", HTTPClient: srv.Client()}), api
}

// checkCall asserts one form-encoded Web API call, its exact parameters
// included.
func checkCall(t *testing.T, c apiCall, method string, want url.Values) {
	t.Helper()
	if c.httpMethod != http.MethodPost || c.path != "/api/"+method {
		t.Errorf("call = %s %s, want POST /api/%s", c.httpMethod, c.path, method)
	}
	if c.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("%s content type = %q", method, c.contentType)
	}
	// slack-go sends the token as a form field, never in the URL.
	want.Set("token", testBotToken)
	if got, wantKeys := slices.Sorted(maps.Keys(c.form)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, wantKeys) {
		t.Errorf("%s parameters = %q, want %q", method, got, wantKeys)
	}
	for k := range want {
		if got := c.form.Get(k); got != want.Get(k) {
			t.Errorf("%s %s =\n %q\nwant\n %q", method, k, got, want.Get(k))
		}
	}
}

func TestPostIncident(t *testing.T) {
	c, api := newTestClient(t, map[string]apiAnswer{"chat.postMessage": {body: postMessageOK}})
	inc := checkoutIncident()
	ts, err := c.PostIncident(t.Context(), testChannel, inc)
	if err != nil {
		t.Fatal(err)
	}
	if ts != testTS {
		t.Errorf("ts = %q", ts)
	}
	calls := api.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	checkCall(t, calls[0], "chat.postMessage", url.Values{
		"channel": {testChannel},
		"text":    {"[P1] #42 HighErrorRate on checkout-api (checkout-api): triggered"},
		"blocks":  {compactJSON(t, marshalBlocks(t, IncidentBlocks(inc)))},
	})
}

func TestUpdateIncident(t *testing.T) {
	c, api := newTestClient(t, map[string]apiAnswer{"chat.update": {body: updateOK}})
	inc := acknowledgedIncident()
	if err := c.UpdateIncident(t.Context(), testChannel, testTS, inc); err != nil {
		t.Fatal(err)
	}
	calls := api.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	checkCall(t, calls[0], "chat.update", url.Values{
		"channel": {testChannel},
		"ts":      {testTS},
		"text":    {"[P1] #42 HighErrorRate on checkout-api (checkout-api): acknowledged by alice"},
		"blocks":  {compactJSON(t, marshalBlocks(t, IncidentBlocks(inc)))},
	})
	if strings.Contains(calls[0].form.Get("blocks"), `"action_id":"ack"`) {
		t.Error("an acknowledged incident still offers Ack")
	}
}

func TestReplyMirrorsTheTimelineInTheThread(t *testing.T) {
	c, api := newTestClient(t, map[string]apiAnswer{"chat.postMessage": {body: threadReplyOK}})
	if err := c.Reply(t.Context(), testChannel, testTS, "alice acknowledged via slack; <!channel> & co paged"); err != nil {
		t.Fatal(err)
	}
	calls := api.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	checkCall(t, calls[0], "chat.postMessage", url.Values{
		"channel":   {testChannel},
		"thread_ts": {testTS},
		// Text from alerts and people never becomes a mention.
		"text": {"alice acknowledged via slack; &lt;!channel&gt; &amp; co paged"},
	})
}

func TestDirectMessageOpensTheDMFirst(t *testing.T) {
	c, api := newTestClient(t, map[string]apiAnswer{
		"conversations.open": {body: openDMOK},
		"chat.postMessage":   {body: dmOK},
	})
	if err := c.DirectMessage(t.Context(), "U0ALICE01", "You are on call for checkout from 09:00 UTC"); err != nil {
		t.Fatal(err)
	}
	calls := api.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls = %+v", calls)
	}
	checkCall(t, calls[0], "conversations.open", url.Values{"users": {"U0ALICE01"}, "return_im": {"false"}})
	checkCall(t, calls[1], "chat.postMessage", url.Values{
		"channel": {"D0ALICE01"},
		"text":    {"You are on call for checkout from 09:00 UTC"},
	})
}

func TestDirectMessageToUnknownUserPostsNothing(t *testing.T) {
	c, api := newTestClient(t, map[string]apiAnswer{
		"conversations.open": {body: `{"ok":false,"error":"user_not_found"}`},
		"chat.postMessage":   {body: dmOK},
	})
	err := c.DirectMessage(t.Context(), "U0GONE", "hello")
	if !escalation.IsPermanent(err) || !strings.Contains(err.Error(), "slack conversations.open (user U0GONE): user_not_found") {
		t.Errorf("err = %v, want permanent user_not_found", err)
	}
	if calls := api.Calls(); len(calls) != 1 {
		t.Errorf("calls = %+v", calls)
	}
}

func TestClientErrors(t *testing.T) {
	cases := []struct {
		name       string
		answer     apiAnswer
		permanent  bool
		retryAfter time.Duration
		wantErr    string
	}{
		{"bad token", apiAnswer{body: `{"ok":false,"error":"invalid_auth"}`}, true, 0, "slack chat.postMessage (channel C0INCIDENTS): invalid_auth"},
		{"token revoked", apiAnswer{body: `{"ok":false,"error":"token_revoked"}`}, true, 0, "token_revoked"},
		{"no such channel", apiAnswer{body: `{"ok":false,"error":"channel_not_found"}`}, true, 0, "channel_not_found"},
		{"bot not invited", apiAnswer{body: `{"ok":false,"error":"not_in_channel"}`}, true, 0, "not_in_channel"},
		{"archived", apiAnswer{body: `{"ok":false,"error":"is_archived"}`}, true, 0, "is_archived"},
		{"scope", apiAnswer{body: `{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"channels:read"}`}, true, 0, "missing_scope"},
		{"blocks rejected", apiAnswer{body: `{"ok":false,"error":"invalid_blocks","errors":["must be more than 0 characters [json-pointer:/blocks/0/text/text]"]}`}, true, 0, "invalid_blocks"},
		{"slack internal", apiAnswer{body: `{"ok":false,"error":"internal_error"}`}, false, 0, "internal_error"},
		{"unknown code", apiAnswer{body: `{"ok":false,"error":"some_future_error"}`}, false, 0, "some_future_error"},
		{"rate limited", apiAnswer{status: 429, retryAfter: "30", body: `{"ok":false,"error":"ratelimited"}`}, false, 30 * time.Second, "slack chat.postMessage: rate limited; retry after 30s"},
		{"429 without Retry-After", apiAnswer{status: 429, body: `{"ok":false,"error":"ratelimited"}`}, false, 0, "429"},
		{"outage", apiAnswer{status: 503, body: `<html>Service Unavailable</html>`}, false, 0, "slack server error: 503 Service Unavailable"},
		{"wrong base URL", apiAnswer{status: 404, body: `<html>Not Found</html>`}, true, 0, "404"},
		{"not JSON", apiAnswer{body: `<html>captive portal</html>`}, false, 0, "slack chat.postMessage (channel C0INCIDENTS): invalid character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, map[string]apiAnswer{"chat.postMessage": tc.answer})
			ts, err := c.PostIncident(t.Context(), testChannel, checkoutIncident())
			if err == nil {
				t.Fatalf("no error, ts %q", ts)
			}
			if got := escalation.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) != (tc.retryAfter > 0) {
				t.Errorf("rate limit error = %v, want %v", rl, tc.retryAfter > 0)
			}
			if rl != nil && (rl.RetryAfter != tc.retryAfter || rl.Method != "chat.postMessage" || !rl.Retryable()) {
				t.Errorf("rate limit = %+v", rl)
			}
			if strings.Contains(err.Error(), testBotToken) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestEveryCallSurfacesSlackErrors(t *testing.T) {
	notInChannel := apiAnswer{body: `{"ok":false,"error":"not_in_channel"}`}
	c, _ := newTestClient(t, map[string]apiAnswer{
		"chat.postMessage": notInChannel, "chat.update": {body: `{"ok":false,"error":"message_not_found"}`},
		"conversations.open": {body: openDMOK},
	})
	ctx := t.Context()
	for name, err := range map[string]error{
		"update": c.UpdateIncident(ctx, testChannel, testTS, checkoutIncident()),
		"reply":  c.Reply(ctx, testChannel, testTS, "x"),
		"dm":     c.DirectMessage(ctx, "U0ALICE01", "x"),
	} {
		if !escalation.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
	// A deleted message says so, so that the incident's is posted anew.
	if err := c.UpdateIncident(ctx, testChannel, testTS, checkoutIncident()); !errors.Is(err, escalation.ErrMessageGone) ||
		err.Error() != "the chat message is gone: slack chat.update (channel C0INCIDENTS ts 1741914451.000200): message_not_found" {
		t.Errorf("update err = %v", err)
	}
	if err := c.DirectMessage(ctx, "U0ALICE01", "x"); err == nil ||
		err.Error() != "slack chat.postMessage (DM D0ALICE01 to user U0ALICE01): not_in_channel" {
		t.Errorf("dm err = %v", err)
	}
}

// roundTripFunc is a transport that never reaches a server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUnreachableSlackIsRetryable(t *testing.T) {
	refused := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("dial tcp 127.0.0.1:443: connect: connection refused")
	})
	c := NewClient(ClientOptions{Token: testBotToken, HTTPClient: &http.Client{Transport: refused}})
	_, err := c.PostIncident(t.Context(), testChannel, checkoutIncident())
	if err == nil || escalation.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	want := `slack chat.postMessage (channel C0INCIDENTS): Post "https://slack.com/api/chat.postMessage": dial tcp`
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), testBotToken) {
		t.Errorf("err = %v, want it to start %q", err, want)
	}
}
