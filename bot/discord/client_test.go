package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	testBotToken = "MTA1NTAzNjA0.fake.bot-token-s3cret"
	testAppID    = "1015102056647893073"
	alertChannel = "645027906669510667"
	incidentMsg  = "844397162624450620"
)

// call is one request the fake Discord received.
type call struct {
	Method, Path, Query     string
	Authorization, MimeType string
	Body                    string
}

func (c call) String() string { return c.Method + " " + c.Path }

// discordReply is what the fake answers a request with.
type discordReply struct {
	status int
	body   string
	header map[string]string
}

// fakeDiscord speaks Discord's REST wire format: it records every request
// and answers from a script per "METHOD /path" (the last reply of a script
// repeats). Unscripted requests fail the test.
type fakeDiscord struct {
	t      *testing.T
	mu     sync.Mutex
	script map[string][]discordReply
	calls  []call
	// seen gets every request as it arrives, for work done in the
	// background.
	seen chan call
	// hold, when set, runs before answering: a test can stall Discord.
	hold func(r *http.Request)
}

func newFakeDiscord(t *testing.T) (*fakeDiscord, *httptest.Server) {
	t.Helper()
	f := &fakeDiscord{t: t, script: map[string][]discordReply{}, seen: make(chan call, 64)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeDiscord) on(method, path string, replies ...discordReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[method+" "+path] = append(f.script[method+" "+path], replies...)
}

func (f *fakeDiscord) stall(hold func(r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = hold
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("reading request: %v", err)
	}
	c := call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), MimeType: r.Header.Get("Content-Type"), Body: string(body)}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	hold := f.hold
	replies := f.script[c.String()]
	var rep discordReply
	switch len(replies) {
	case 0:
		f.t.Errorf("unexpected request %s", c)
		rep = discordReply{status: 404, body: `{"message": "404: Not Found", "code": 0}`}
	case 1:
		rep = replies[0]
	default:
		rep = replies[0]
		f.script[c.String()] = replies[1:]
	}
	f.mu.Unlock()
	f.seen <- c
	if hold != nil {
		hold(r)
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (f *fakeDiscord) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// next waits for the next request, for work Klaxon does in the background.
func (f *fakeDiscord) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.seen:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("Discord never received the request")
		return call{}
	}
}

func newTestClient(t *testing.T) (*Client, *fakeDiscord) {
	t.Helper()
	f, srv := newFakeDiscord(t)
	c, err := NewClient(ClientOptions{Token: testBotToken, BaseURL: srv.URL, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("expected %s is not JSON: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, gi, wi)
	}
}

// checkCall asserts the route, the bot's credentials and the JSON body.
func checkCall(t *testing.T, c call, method, path, body string) {
	t.Helper()
	if c.Method != method || c.Path != path {
		t.Errorf("request = %s, want %s %s", c, method, path)
	}
	if c.Authorization != "Bot "+testBotToken {
		t.Errorf("%s: Authorization = %q", c, c.Authorization)
	}
	if body == "" {
		return
	}
	if c.MimeType != "application/json" {
		t.Errorf("%s: Content-Type = %q", c, c.MimeType)
	}
	sameJSON(t, c.String()+" body", c.Body, body)
}

func checkRoutes(t *testing.T, calls []call, want ...string) {
	t.Helper()
	var got []string
	for _, c := range calls {
		got = append(got, c.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// messageJSON is a message object as Discord returns it.
func messageJSON(id, channelID string) string {
	return fmt.Sprintf(`{"id": %q, "channel_id": %q, "type": 0, "content": "", "embeds": [], "components": []}`, id, channelID)
}

// The embed and buttons as Discord receives them (see the golden files).
const (
	triggeredEmbed = `{"type": "rich", "title": "#42 HighErrorRate on checkout-api", "color": 15548997, "fields": [
		{"name": "Status", "value": "Triggered", "inline": true},
		{"name": "Priority", "value": "P1", "inline": true},
		{"name": "Service", "value": "checkout-api", "inline": true},
		{"name": "Started", "value": "2026-03-01 14:05 UTC", "inline": true}]}`
	triggeredButtons = `{"type": 1, "components": [
		{"type": 2, "style": 1, "label": "Acknowledge", "custom_id": "ack:42", "disabled": false},
		{"type": 2, "style": 3, "label": "Resolve", "custom_id": "resolve:42", "disabled": false},
		{"type": 2, "style": 4, "label": "Escalate", "custom_id": "escalate:42", "disabled": false}]}`
	resolvedEmbed = `{"type": "rich", "title": "#42 HighErrorRate on checkout-api", "color": 5763719, "fields": [
		{"name": "Status", "value": "Resolved", "inline": true},
		{"name": "Priority", "value": "P1", "inline": true},
		{"name": "Service", "value": "checkout-api", "inline": true},
		{"name": "Acknowledged by", "value": "alice", "inline": true},
		{"name": "Resolved by", "value": "bob", "inline": true},
		{"name": "Started", "value": "2026-03-01 14:05 UTC", "inline": true}]}`
	// discordgo always sends replied_user; Discord ignores it outside replies.
	noPingsJSON = `{"parse": [], "replied_user": false}`
)

func TestPostIncidentSendsTheEmbedAndButtons(t *testing.T) {
	c, discord := newTestClient(t)
	discord.on("POST", "/api/v9/channels/"+alertChannel+"/messages", discordReply{status: 200, body: messageJSON(incidentMsg, alertChannel)})

	id, err := c.PostIncident(t.Context(), alertChannel, incidentAt(escalation.StatusTriggered))
	if err != nil {
		t.Fatal(err)
	}
	if id != incidentMsg {
		t.Errorf("message ID = %q, want %q", id, incidentMsg)
	}
	calls := discord.Calls()
	checkRoutes(t, calls, "POST /api/v9/channels/"+alertChannel+"/messages")
	checkCall(t, calls[0], "POST", "/api/v9/channels/"+alertChannel+"/messages", `{
		"embeds": [`+triggeredEmbed+`],
		"components": [`+triggeredButtons+`],
		"allowed_mentions": `+noPingsJSON+`,
		"tts": false,
		"sticker_ids": null}`)
}

func TestPostIncidentWithoutAMessageIDIsNotRetried(t *testing.T) {
	c, discord := newTestClient(t)
	discord.on("POST", "/api/v9/channels/"+alertChannel+"/messages", discordReply{status: 200, body: `{}`})
	_, err := c.PostIncident(t.Context(), alertChannel, incidentAt(escalation.StatusTriggered))
	// The message is in the channel: a retry would post it twice.
	if !escalation.IsPermanent(err) {
		t.Errorf("err = %v, want permanent", err)
	}
}

func TestUpdateIncidentRedrawsAndDropsTheButtonsOnceResolved(t *testing.T) {
	c, discord := newTestClient(t)
	path := "/api/v9/channels/" + alertChannel + "/messages/" + incidentMsg
	discord.on("PATCH", path, discordReply{status: 200, body: messageJSON(incidentMsg, alertChannel)})

	if err := c.UpdateIncident(t.Context(), alertChannel, incidentMsg, incidentAt(escalation.StatusResolved)); err != nil {
		t.Fatal(err)
	}
	calls := discord.Calls()
	checkRoutes(t, calls, "PATCH "+path)
	// "components": [] removes the buttons; discordgo also serialises the
	// edit's routing fields (ID, Channel), which Discord ignores.
	checkCall(t, calls[0], "PATCH", path, `{
		"embeds": [`+resolvedEmbed+`],
		"components": [],
		"allowed_mentions": `+noPingsJSON+`,
		"ID": "`+incidentMsg+`",
		"Channel": "`+alertChannel+`"}`)
}

func TestReplyStartsTheTimelineThreadOnce(t *testing.T) {
	c, discord := newTestClient(t)
	// The thread takes the incident message's ID.
	threadMessages := "/api/v9/channels/" + incidentMsg + "/messages"
	startThread := "/api/v9/channels/" + alertChannel + "/messages/" + incidentMsg + "/threads"
	discord.on("POST", threadMessages,
		discordReply{status: 404, body: `{"message": "Unknown Channel", "code": 10003}`},
		discordReply{status: 200, body: messageJSON("900000000000000001", incidentMsg)})
	discord.on("POST", startThread, discordReply{status: 201, body: `{"id": "` + incidentMsg + `", "type": 11, "name": "Incident timeline"}`})

	if err := c.Reply(t.Context(), alertChannel, incidentMsg, "Acknowledged by alice via discord"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(t.Context(), alertChannel, incidentMsg, "Resolved by bob via sms: rolled back"); err != nil {
		t.Fatal(err)
	}
	calls := discord.Calls()
	checkRoutes(t, calls, "POST "+threadMessages, "POST "+startThread, "POST "+threadMessages, "POST "+threadMessages)
	checkCall(t, calls[1], "POST", startThread, `{"name": "Incident timeline", "auto_archive_duration": 1440, "invitable": false}`)
	checkCall(t, calls[2], "POST", threadMessages, `{"content": "Acknowledged by alice via discord",
		"embeds": null, "components": null, "tts": false, "sticker_ids": null, "allowed_mentions": `+noPingsJSON+`}`)
	checkCall(t, calls[3], "POST", threadMessages, `{"content": "Resolved by bob via sms: rolled back",
		"embeds": null, "components": null, "tts": false, "sticker_ids": null, "allowed_mentions": `+noPingsJSON+`}`)
}

func TestReplyWhenAnotherReplyJustStartedTheThread(t *testing.T) {
	c, discord := newTestClient(t)
	threadMessages := "/api/v9/channels/" + incidentMsg + "/messages"
	startThread := "/api/v9/channels/" + alertChannel + "/messages/" + incidentMsg + "/threads"
	discord.on("POST", threadMessages,
		discordReply{status: 404, body: `{"message": "Unknown Channel", "code": 10003}`},
		discordReply{status: 200, body: messageJSON("900000000000000001", incidentMsg)})
	discord.on("POST", startThread, discordReply{status: 400, body: `{"message": "A thread has already been created for this message", "code": 160004}`})

	if err := c.Reply(t.Context(), alertChannel, incidentMsg, "Escalated to level 2"); err != nil {
		t.Fatal(err)
	}
	checkRoutes(t, discord.Calls(), "POST "+threadMessages, "POST "+startThread, "POST "+threadMessages)
}

func TestReplyToADeletedMessageIsPermanent(t *testing.T) {
	c, discord := newTestClient(t)
	discord.on("POST", "/api/v9/channels/"+incidentMsg+"/messages", discordReply{status: 404, body: `{"message": "Unknown Channel", "code": 10003}`})
	discord.on("POST", "/api/v9/channels/"+alertChannel+"/messages/"+incidentMsg+"/threads", discordReply{status: 404, body: `{"message": "Unknown Message", "code": 10008}`})
	err := c.Reply(t.Context(), alertChannel, incidentMsg, "x")
	var apiErr *APIError
	if !escalation.IsPermanent(err) || !errors.As(err, &apiErr) || apiErr.Code != 10008 {
		t.Errorf("err = %v, want permanent Unknown Message", err)
	}
}

func TestDirectMessageOpensTheDMChannelFirst(t *testing.T) {
	c, discord := newTestClient(t)
	const user, dm = "53908232506183680", "319674150115610528"
	discord.on("POST", "/api/v9/users/@me/channels", discordReply{status: 200, body: `{"id": "` + dm + `", "type": 1, "recipients": [{"id": "` + user + `"}]}`})
	discord.on("POST", "/api/v9/channels/"+dm+"/messages", discordReply{status: 200, body: messageJSON("900000000000000002", dm)})

	if err := c.DirectMessage(t.Context(), user, "[P1] #42 HighErrorRate on checkout-api"); err != nil {
		t.Fatal(err)
	}
	calls := discord.Calls()
	checkRoutes(t, calls, "POST /api/v9/users/@me/channels", "POST /api/v9/channels/"+dm+"/messages")
	checkCall(t, calls[0], "POST", "/api/v9/users/@me/channels", `{"recipient_id": "`+user+`"}`)
	checkCall(t, calls[1], "POST", "/api/v9/channels/"+dm+"/messages", `{"content": "[P1] #42 HighErrorRate on checkout-api",
		"embeds": null, "components": null, "tts": false, "sticker_ids": null, "allowed_mentions": `+noPingsJSON+`}`)
}

func TestDirectMessageToAUserWhoClosedTheirDMsIsPermanent(t *testing.T) {
	c, discord := newTestClient(t)
	discord.on("POST", "/api/v9/users/@me/channels", discordReply{status: 200, body: `{"id": "1", "type": 1}`})
	discord.on("POST", "/api/v9/channels/1/messages", discordReply{status: 403, body: `{"message": "Cannot send messages to this user", "code": 50007}`})
	if err := c.DirectMessage(t.Context(), "53908232506183680", "x"); !escalation.IsPermanent(err) {
		t.Errorf("err = %v, want permanent", err)
	}
}

const klaxonCommandJSON = `[{
	"type": 1,
	"name": "klaxon",
	"description": "Act on Klaxon incidents",
	"contexts": [0, 1],
	"options": [{
		"type": 3,
		"name": "command",
		"description": "e.g. \"ack 42\", \"ack all\", \"resolve 42 rolled back\", \"help\"",
		"required": true,
		"max_length": 200,
		"channel_types": null,
		"options": null,
		"autocomplete": false,
		"choices": null
	}]
}]`

func TestRegisterCommandsMakesKlaxonTheOnlyCommand(t *testing.T) {
	for _, tc := range []struct{ name, guild, path string }{
		{"in a guild", "290926798626357999", "/api/v9/applications/" + testAppID + "/guilds/290926798626357999/commands"},
		{"globally", "", "/api/v9/applications/" + testAppID + "/commands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, discord := newTestClient(t)
			discord.on("PUT", tc.path, discordReply{status: 200, body: `[{"id": "771825006014889984", "name": "klaxon"}]`})
			if err := c.RegisterCommands(t.Context(), testAppID, tc.guild); err != nil {
				t.Fatal(err)
			}
			calls := discord.Calls()
			checkRoutes(t, calls, "PUT "+tc.path)
			checkCall(t, calls[0], "PUT", tc.path, klaxonCommandJSON)
		})
	}
}

func TestRegisterCommandsGivesUpWhenStartupCancelsIt(t *testing.T) {
	c, discord := newTestClient(t)
	path := "/api/v9/applications/" + testAppID + "/commands"
	discord.on("PUT", path, discordReply{status: 200, body: `[]`})
	ctx, cancel := context.WithCancel(t.Context())
	// Discord hangs; Klaxon shuts down meanwhile.
	discord.stall(func(r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	err := c.RegisterCommands(ctx, testAppID, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestRateLimitedCallsDoNotOutwaitTheirContext(t *testing.T) {
	c, discord := newTestClient(t)
	path := "/api/v9/applications/" + testAppID + "/commands"
	discord.on("PUT", path, discordReply{status: 429,
		body:   `{"message": "You are being rate limited.", "retry_after": 3600, "global": true}`,
		header: map[string]string{"X-RateLimit-Global": "true", "X-RateLimit-Reset-After": "3600", "Retry-After": "3600"}})

	// Were discordgo to wait out the hour itself, the deadline would end it.
	first, cancelFirst := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancelFirst()
	err := c.RegisterCommands(first, testAppID, "")
	if d, ok := RetryAfter(err); !ok || d != time.Hour {
		t.Fatalf("err = %v, want a retry after 1h", err)
	}
	// discordgo now holds every request for an hour; a caller with a
	// deadline must get its answer at the deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err = c.RegisterCommands(ctx, testAppID, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if n := len(discord.Calls()); n != 1 {
		t.Errorf("Discord got %d requests, want 1: the limit was not honoured", n)
	}
}

func TestDiscordErrorsAreClassified(t *testing.T) {
	cases := []struct {
		name       string
		reply      discordReply
		permanent  bool
		retryAfter time.Duration
		wantErr    string
	}{
		{"429 rate limited", discordReply{status: 429, body: `{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}`},
			false, 1500 * time.Millisecond, "HTTP 429 (You are being rate limited.); retry after 1.5s"},
		{"429 from a proxy", discordReply{status: 429, body: `<html>slow down</html>`, header: map[string]string{"Retry-After": "30"}},
			false, 30 * time.Second, "HTTP 429 (Too Many Requests); retry after 30s"},
		{"401 bad token", discordReply{status: 401, body: `{"message": "401: Unauthorized", "code": 0}`}, true, 0, "HTTP 401 (401: Unauthorized)"},
		{"403 missing access", discordReply{status: 403, body: `{"message": "Missing Access", "code": 50001}`}, true, 0, "HTTP 403 (code 50001: Missing Access)"},
		{"404 unknown channel", discordReply{status: 404, body: `{"message": "Unknown Channel", "code": 10003}`}, true, 0, "HTTP 404 (code 10003: Unknown Channel)"},
		{"400 invalid form body", discordReply{status: 400, body: `{"message": "Invalid Form Body", "code": 50035}`}, true, 0, "HTTP 400 (code 50035: Invalid Form Body)"},
		{"500", discordReply{status: 500, body: `{"message": "500: Internal Server Error", "code": 0}`}, false, 0, "HTTP 500"},
		{"502 not JSON", discordReply{status: 502, body: `<html>bad gateway</html>`}, false, 0, "HTTP 502 (Bad Gateway)"},
		{"503", discordReply{status: 503, body: `upstream connect error`}, false, 0, "HTTP 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, discord := newTestClient(t)
			discord.on("POST", "/api/v9/channels/"+alertChannel+"/messages", tc.reply)
			// A client that waited out a 429 itself would meet the deadline.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := c.PostIncident(ctx, alertChannel, incidentAt(escalation.StatusTriggered))
			if err == nil {
				t.Fatal("no error")
			}
			if got := escalation.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.reply.status {
				t.Fatalf("err = %v, want an APIError with status %d", err, tc.reply.status)
			}
			if apiErr.Retryable() == tc.permanent {
				t.Errorf("Retryable = %v, IsPermanent = %v", apiErr.Retryable(), tc.permanent)
			}
			d, limited := RetryAfter(err)
			if limited != (tc.reply.status == 429) || d != tc.retryAfter {
				t.Errorf("RetryAfter = %v, %v; want %v", d, limited, tc.retryAfter)
			}
			want := "discord: posting incident #42 to channel " + alertChannel + ": " + tc.wantErr
			if tc.reply.status == 400 {
				// A message Discord refuses for what it says: that entry
				// is skipped, the others go on.
				if !errors.Is(err, escalation.ErrEntryRefused) {
					t.Errorf("err = %v, want ErrEntryRefused", err)
				}
				want = escalation.ErrEntryRefused.Error() + ": " + want
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %q, want it to start %q", err, want)
			}
			if strings.Contains(err.Error(), testBotToken) {
				t.Errorf("error leaks the bot token: %v", err)
			}
			// Retrying is the caller's, with backoff: discordgo must not
			// have retried on its own.
			if n := len(discord.Calls()); n != 1 {
				t.Errorf("Discord got %d requests, want 1", n)
			}
		})
	}
}

func TestDiscord500IsRetriedLaterNotDropped(t *testing.T) {
	c, discord := newTestClient(t)
	discord.on("PATCH", "/api/v9/channels/"+alertChannel+"/messages/"+incidentMsg,
		discordReply{status: 500, body: `{"message": "500: Internal Server Error", "code": 0}`})
	err := c.UpdateIncident(t.Context(), alertChannel, incidentMsg, incidentAt(escalation.StatusAcknowledged))
	var apiErr *APIError
	if err == nil || escalation.IsPermanent(err) || !errors.As(err, &apiErr) || !apiErr.Retryable() {
		t.Errorf("err = %v, want a retryable error", err)
	}
	// Retrying is the caller's: discordgo must not have retried on its own.
	if n := len(discord.Calls()); n != 1 {
		t.Errorf("Discord got %d requests, want 1", n)
	}
}

func TestInteractionFollowUpsUseTheInteractionToken(t *testing.T) {
	c, discord := newTestClient(t)
	const token = "aW50ZXJhY3Rpb246MTAyNDczNDc0MzgzNDY3MzE5NA"
	original := "/api/v9/webhooks/" + testAppID + "/" + token + "/messages/@original"
	discord.on("PATCH", original, discordReply{status: 200, body: messageJSON("1", "2")})
	discord.on("POST", "/api/v9/webhooks/"+testAppID+"/"+token, discordReply{status: 204})

	text := "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."
	if err := c.EditResponse(t.Context(), testAppID, token, &discordgo.WebhookEdit{Content: &text}); err != nil {
		t.Fatal(err)
	}
	if err := c.FollowUp(t.Context(), testAppID, token, "incident #42 is already resolved"); err != nil {
		t.Fatal(err)
	}
	calls := discord.Calls()
	checkRoutes(t, calls, "PATCH "+original, "POST /api/v9/webhooks/"+testAppID+"/"+token)
	checkCall(t, calls[0], "PATCH", original, `{"content": "Acknowledged #42 HighErrorRate on checkout-api. Paging stopped."}`)
	checkCall(t, calls[1], "POST", "/api/v9/webhooks/"+testAppID+"/"+token,
		`{"content": "incident #42 is already resolved", "flags": 64, "allowed_mentions": `+noPingsJSON+`}`)
}

func TestNetworkErrorsNameNoSecrets(t *testing.T) {
	_, srv := newFakeDiscord(t)
	c, err := NewClient(ClientOptions{Token: testBotToken, BaseURL: srv.URL, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	const token = "aW50ZXJhY3Rpb246c2VjcmV0"
	err = c.FollowUp(t.Context(), testAppID, token, "x")
	if err == nil || escalation.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), testBotToken) {
		t.Errorf("error leaks a token: %v", err)
	}
	if !strings.Contains(err.Error(), "/webhooks/"+testAppID+"/REDACTED") {
		t.Errorf("error does not say where it failed: %v", err)
	}
}

func TestClientSendsTheBotTokenOnlyToDiscord(t *testing.T) {
	c, discord := newTestClient(t)
	// discordgo attaches the token to every request it makes.
	resp, err := c.s.Client.Get("https://cdn.discordapp.com/avatars/1/2.png")
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to another host went through")
	}
	if len(discord.Calls()) != 0 {
		t.Errorf("requests reached the server: %v", discord.Calls())
	}
}

func TestBaseURLWithAPathPrefix(t *testing.T) {
	f, srv := newFakeDiscord(t)
	c, err := NewClient(ClientOptions{Token: "Bot " + testBotToken, BaseURL: srv.URL + "/discord-proxy/", Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	f.on("POST", "/discord-proxy/api/v9/channels/"+alertChannel+"/messages", discordReply{status: 200, body: messageJSON(incidentMsg, alertChannel)})
	if _, err := c.PostIncident(t.Context(), alertChannel, incidentAt(escalation.StatusTriggered)); err != nil {
		t.Fatal(err)
	}
	// The "Bot " prefix given in the option is not doubled.
	checkCall(t, f.Calls()[0], "POST", "/discord-proxy/api/v9/channels/"+alertChannel+"/messages", "")
}

func TestNewClientRefusesBadConfig(t *testing.T) {
	for _, o := range []ClientOptions{
		{},
		{Token: "Bot  "},
		{Token: testBotToken, BaseURL: "discord.com"},
		{Token: testBotToken, BaseURL: "ftp://discord.com"},
		{Token: testBotToken, BaseURL: "http://[::1"},
	} {
		c, err := NewClient(o)
		if err == nil {
			t.Errorf("NewClient(%+v) = %v, want an error", o, c)
			continue
		}
		if strings.Contains(err.Error(), testBotToken) {
			t.Errorf("error echoes the token: %v", err)
		}
	}
}

func TestMissingIDsAreConfigErrorsNotRequests(t *testing.T) {
	c, discord := newTestClient(t)
	ctx := t.Context()
	inc := incidentAt(escalation.StatusTriggered)
	_, postErr := c.PostIncident(ctx, "", inc)
	for name, err := range map[string]error{
		"post":     postErr,
		"update":   c.UpdateIncident(ctx, alertChannel, "", inc),
		"reply":    c.Reply(ctx, "", incidentMsg, "x"),
		"dm":       c.DirectMessage(ctx, "", "x"),
		"register": c.RegisterCommands(ctx, "", ""),
	} {
		if !escalation.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
	if len(discord.Calls()) != 0 {
		t.Errorf("requests sent: %v", discord.Calls())
	}
}
