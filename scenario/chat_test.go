package scenario

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/bot/discord"
	"github.com/klaxonhq/klaxon/bot/slack"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/status"
)

// fakeSlack speaks the Web API methods Klaxon uses: chat.postMessage (new
// messages and thread replies) and chat.update. It records each call as
// "method channel ts|thread text-or-status".
type fakeSlack struct {
	mu    sync.Mutex
	calls []string
	next  int
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Form.Get("token") != "xoxb-scenario" {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	ch := r.Form.Get("channel")
	switch method {
	case "conversations.open":
		fmt.Fprintf(w, `{"ok":true,"channel":{"id":"D%s"}}`, r.Form.Get("users"))
	case "chat.postMessage":
		if strings.HasPrefix(ch, "D") {
			f.calls = append(f.calls, fmt.Sprintf("dm %s %s", ch, r.Form.Get("text")))
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000200.000001"}`, ch)
			return
		}
		if th := r.Form.Get("thread_ts"); th != "" {
			f.calls = append(f.calls, fmt.Sprintf("reply %s %s %s", ch, th, r.Form.Get("text")))
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000100.%06d"}`, ch, f.next)
			f.next++
			return
		}
		f.next++
		ts := fmt.Sprintf("1700000000.%06d", f.next)
		f.calls = append(f.calls, fmt.Sprintf("post %s %s %s", ch, ts, blockStatus(r.Form.Get("blocks"))))
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, ch, ts)
	case "chat.update":
		f.calls = append(f.calls, fmt.Sprintf("update %s %s %s", ch, r.Form.Get("ts"), blockStatus(r.Form.Get("blocks"))))
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, ch, r.Form.Get("ts"))
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

// blockStatus finds which incident state the rendered blocks show.
func blockStatus(blocks string) string {
	for _, st := range []string{"Resolved", "Acknowledged", "Triggered"} {
		if strings.Contains(blocks, st) {
			return strings.ToLower(st)
		}
	}
	return "?"
}

func (f *fakeSlack) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// withPrefix is the calls a fake chat recorded that start with prefix.
func withPrefix(calls []string, prefix string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// fakeDiscord speaks the REST routes Klaxon uses: create and edit channel
// messages, start a thread on a message, and post into it. While down it
// answers 500 to everything.
type fakeDiscord struct {
	mu      sync.Mutex
	calls   []string
	down    bool
	next    int
	threads map[string]bool
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bot discord-scenario-token" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"401: Unauthorized","code":0}`)
		return
	}
	if f.down {
		f.calls = append(f.calls, "500 "+r.Method+" "+r.URL.Path)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"message":"Internal Server Error","code":0}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v9/channels/"), "/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "messages":
		ch := parts[0]
		if f.threads[ch] {
			var m struct{ Content string }
			_ = json.Unmarshal(body, &m)
			f.calls = append(f.calls, "thread "+ch+" "+m.Content)
			f.next++
			fmt.Fprintf(w, `{"id":"%d","channel_id":%q}`, 5000+f.next, ch)
			return
		}
		if _, err := strconv.Atoi(ch); err == nil && len(ch) < 6 {
			// A message id used as a channel before its thread exists.
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Unknown Channel","code":10003}`)
			return
		}
		f.next++
		id := strconv.Itoa(1000 + f.next)
		f.calls = append(f.calls, "post "+ch+" "+id+" "+embedStatus(body))
		fmt.Fprintf(w, `{"id":%q,"channel_id":%q}`, id, ch)
	case r.Method == http.MethodPatch && len(parts) == 3 && parts[1] == "messages":
		f.calls = append(f.calls, "update "+parts[0]+" "+parts[2]+" "+embedStatus(body))
		fmt.Fprintf(w, `{"id":%q,"channel_id":%q}`, parts[2], parts[0])
	case r.Method == http.MethodPost && len(parts) == 4 && parts[3] == "threads":
		f.threads[parts[2]] = true
		fmt.Fprintf(w, `{"id":%q,"parent_id":%q,"type":11}`, parts[2], parts[0])
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"no route %s %s","code":0}`, r.Method, r.URL.Path)
	}
}

func embedStatus(body []byte) string {
	return blockStatus(string(body))
}

func (f *fakeDiscord) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDiscord) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

const slackSecret = "scenario-slack-signing-secret"

// chatHarness is the team config with Slack and Discord mirrors pointed at
// fakes, and Slack's slash commands served.
func chatHarness(t *testing.T) (*harness, *fakeSlack, *fakeDiscord) {
	t.Helper()
	return chatHarnessWith(t, team)
}

func chatHarnessWith(t *testing.T, cfg string) (*harness, *fakeSlack, *fakeDiscord) {
	t.Helper()
	fs, fd := &fakeSlack{}, &fakeDiscord{threads: map[string]bool{}}
	sc, dc := chatClients(t, fs, fd)
	h := newHarnessUnopened(t, cfg, "2026-03-02T01:00:00Z")
	h.dms = map[escalation.Channel]escalation.Pager{escalation.ChannelSlack: bot.DMPager{Client: sc, Provider: "slack"}}
	h.chats = map[string]escalation.Chat{
		"slack":   &bot.Mirror{Client: sc, Default: "C0INCIDENTS"},
		"discord": &bot.Mirror{Client: dc, Default: "1200000000000000002"},
	}
	h.route = func(mux *http.ServeMux, eng *escalation.Engine) {
		slack.NewHandler(slack.Options{SigningSecret: slackSecret, Engine: eng, Clock: h.clock,
			People: slack.StaticPeople{"U0ALICE": "alice"}}).Register(mux)
	}
	h.open()
	t.Cleanup(h.close)
	return h, fs, fd
}

// chatClients are Slack and Discord clients whose APIs are the fakes
// slackAPI and discordAPI, served until the test ends.
func chatClients(t *testing.T, slackAPI, discordAPI http.Handler) (*slack.Client, *discord.Client) {
	t.Helper()
	ss, ds := httptest.NewServer(slackAPI), httptest.NewServer(discordAPI)
	t.Cleanup(ss.Close)
	t.Cleanup(ds.Close)
	dc, err := discord.NewClient(discord.ClientOptions{Token: "discord-scenario-token", BaseURL: ds.URL})
	if err != nil {
		t.Fatal(err)
	}
	return slack.NewClient(slack.ClientOptions{Token: "xoxb-scenario", BaseURL: ss.URL + "/api/"}), dc
}

// slash sends a signed /klaxon slash command as a Slack user.
func (h *harness) slash(user, text string) string {
	h.t.Helper()
	form := url.Values{"command": {"/klaxon"}, "text": {text}, "user_id": {user}, "team_id": {"T0001"},
		"channel_id": {"C0INCIDENTS"}, "response_url": {"https://hooks.slack.com/commands/T0001/1/x"}}
	body := form.Encode()
	ts := strconv.FormatInt(h.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	rec := h.Request(http.MethodPost, "/slack/commands", http.Header{
		"Content-Type":              {"application/x-www-form-urlencoded"},
		"X-Slack-Request-Timestamp": {ts},
		"X-Slack-Signature":         {"v0=" + hex.EncodeToString(mac.Sum(nil))},
	}, []byte(body))
	if rec.Code != http.StatusOK {
		h.t.Fatalf("slash %q: %d %s", text, rec.Code, rec.Body)
	}
	var reply struct{ Text string }
	_ = json.Unmarshal(rec.Body.Bytes(), &reply)
	return reply.Text
}

func expectCalls(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s calls:\n  %s\nwant:\n  %s", who, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// GoAlert's users acked by SMS while Slack still said "triggered", and a
// second responder got out of bed. Here an SMS ack updates the incident's
// message in Slack and in Discord, and both threads say who acked and how.
func TestAnSMSAckUpdatesSlackAndDiscord(t *testing.T) {
	h, fs, fd := chatHarness(t)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.ExpectPages("01:00 bikram sms")
	if got := h.SMS("bikram", "ack"); !strings.Contains(got, "Acknowledged #1") {
		t.Fatalf("sms reply %q", got)
	}
	expectCalls(t, "slack", fs.Calls(),
		"post C0INCIDENTS 1700000000.000001 triggered",
		"reply C0INCIDENTS 1700000000.000001 01:00 triggered by prometheus via monitor: P2 disk full on db-1 on web",
		"reply C0INCIDENTS 1700000000.000001 01:00 alert attached by prometheus via monitor: disk full on db-1",
		"reply C0INCIDENTS 1700000000.000001 01:00 escalated: policy default level 1: paging bikram",
		"reply C0INCIDENTS 1700000000.000001 01:00 page sent bikram (sms)",
		"update C0INCIDENTS 1700000000.000001 acknowledged",
		"reply C0INCIDENTS 1700000000.000001 01:00 acknowledged by bikram via sms",
	)
	got := fd.Calls()
	if len(got) < 3 || got[0] != "post 1200000000000000002 1001 triggered" ||
		!strings.HasPrefix(got[len(got)-2], "update 1200000000000000002 1001 acknowledged") ||
		got[len(got)-1] != "thread 1001 01:00 acknowledged by bikram via sms" {
		t.Fatalf("discord calls:\n  %s", strings.Join(got, "\n  "))
	}

	// Alice resolves from Slack; Discord hears of it too.
	if got := h.slash("U0ALICE", "resolve 1 freed space"); !strings.Contains(got, "Resolved #1") {
		t.Fatalf("slash reply %q", got)
	}
	if got := fd.Calls(); !strings.HasPrefix(got[len(got)-2], "update 1200000000000000002 1001 resolved") {
		t.Fatalf("discord after the slack resolve:\n  %s", strings.Join(got, "\n  "))
	}
	if got := h.slash("U0MALLORY", "ack 1"); !strings.Contains(got, "not a Klaxon responder") {
		t.Fatalf("stranger's slash reply %q", got)
	}
}

// Discord is down: its messages wait and retry with backoff, while SMS and
// calls go out on time and Slack stays current.
func TestADiscordOutageDoesNotDelayPages(t *testing.T) {
	h, fs, fd := chatHarness(t)
	fd.SetDown(true)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.AdvanceTo(mustTime(t, "2026-03-02T01:06:00Z"))
	h.ExpectPages("01:00 bikram sms", "01:02 bikram voice", "01:04 bikram voice", "01:05 alice sms", "01:05 carmen sms", "01:06 bikram sms")
	if got := fs.Calls(); len(got) == 0 || got[0] != "post C0INCIDENTS 1700000000.000001 triggered" {
		t.Fatalf("slack calls: %q", got)
	}
	tries := len(withPrefix(fd.Calls(), "500 POST /api/v9/channels/1200000000000000002/messages"))
	// Backoff 5s, 10s, 20s, ... capped at 5m: a handful of tries in six minutes, not hundreds.
	if tries < 4 || tries > 8 {
		t.Fatalf("discord tried %d times in six minutes", tries)
	}
	var post *escalation.ChatPost
	_ = h.db.View(t.Context(), func(tx escalation.Tx) error {
		var err error
		post, err = tx.ChatPost("discord", 1)
		return err
	})
	if post == nil || !post.Dirty || post.Ref != "" || !strings.Contains(post.Error, "500") {
		t.Fatalf("discord post state: %+v", post)
	}

	fd.SetDown(false)
	h.Advance(5 * time.Minute)
	if got := fd.Calls(); !strings.HasPrefix(got[len(got)-1], "thread 1001 ") {
		t.Fatalf("discord after it came back:\n  %s", strings.Join(got[len(got)-3:], "\n  "))
	}
}

// Bikram wants a Slack DM first and an SMS a minute later; the DM is a page
// like any other, and his shift notice comes by DM too.
func TestPagedByASlackDirectMessage(t *testing.T) {
	cfg := strings.Replace(team, `    phone: "+61255501001"
    contact_rules:
      - {channel: sms, after: 0s}`, `    phone: "+61255501001"
    slack_id: U0BIKRAM
    contact_rules:
      - {channel: slack, after: 0s}
      - {channel: sms, after: 1m}`, 1) + `
slack:
  signing_secret: ` + slackSecret + `
  bot_token: xoxb-scenario
  channel: C0INCIDENTS
`
	h, fs, _ := chatHarnessWith(t, cfg)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.Advance(time.Minute)
	h.ExpectPages("01:01 bikram sms")
	dms := withPrefix(fs.Calls(), "dm ")
	if want := "dm DU0BIKRAM KLAXON #1 P2 web: disk full on db-1. Acknowledge with /klaxon ack 1."; len(dms) != 1 || dms[0] != want {
		t.Fatalf("DMs %q, want %q", dms, want)
	}
	_, events := h.Incident(1)
	sent := 0
	for _, ev := range events {
		if ev.Kind == escalation.EventPageSent && ev.Channel == escalation.ChannelSlack && ev.Provider == "slack" {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("timeline has %d slack page_sent entries", sent)
	}
}

// Customers hear what responders publish: each public update is posted to
// the public channel and sent to a subscriber, signed; the alert's own
// text and the notes go nowhere public. A subscriber that is down gets it
// later.
func TestPublicUpdatesReachThePublicChannelAndSubscribers(t *testing.T) {
	var mu sync.Mutex
	var got []string
	down := true
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get(status.SignatureHeader) != status.Sign("subscriber-secret-0123456789", body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev status.SubscriberEvent
		_ = json.Unmarshal(body, &ev)
		got = append(got, fmt.Sprintf("%s: %s [%s] %s", ev.Page, ev.Incident.Title, ev.Update.Status, ev.Update.Message))
	}))
	defer sub.Close()

	fs := &fakeSlack{}
	ss := httptest.NewServer(fs)
	defer ss.Close()
	sc := slack.NewClient(slack.ClientOptions{Token: "xoxb-scenario", BaseURL: ss.URL + "/api/"})
	h := newHarnessUnopened(t, team, "2026-03-02T01:00:00Z")
	h.chats = map[string]escalation.Chat{
		"public-slack": &bot.PublicMirror{Client: sc, Channel: "C0PUBLIC"},
		"subscriber-1": &status.Subscriber{Page: "Acme Status", URL: sub.URL, Secret: "subscriber-secret-0123456789"},
	}
	h.open()
	t.Cleanup(h.close)

	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1 (internal)"))
	h.ok(h.eng.AddNote(t.Context(), 1, "it is the RAID controller", byAlice))
	if calls := fs.Calls(); len(calls) != 0 {
		t.Fatalf("a private incident reached the public channel: %q", calls)
	}
	followed := func() (chats []string) {
		_ = h.db.View(t.Context(), func(tx escalation.Tx) error {
			for _, name := range []string{"public-slack", "subscriber-1"} {
				if _, err := tx.ChatPost(name, 1); err == nil {
					chats = append(chats, name)
				}
			}
			return nil
		})
		return chats
	}
	// The alert, its pages and the note are nothing the public followers
	// show: no post of theirs to write or to sync.
	if got := followed(); len(got) != 0 {
		t.Fatalf("a private incident has posts in %v", got)
	}
	h.ok(h.eng.PostUpdate(t.Context(), 1, escalation.PublicUpdate{Status: escalation.PublicInvestigating,
		Title: "Slow dashboards", Message: "Some dashboards load slowly."}, byBikram))
	h.runDue()
	expectCalls(t, "slack", fs.Calls(), "post C0PUBLIC 1700000000.000001 ?")
	if got := followed(); len(got) != 2 {
		t.Fatalf("after the first public update, posts in %v; want both followers", got)
	}

	mu.Lock()
	down = false
	mu.Unlock()
	h.Advance(time.Minute)
	h.ok(h.eng.PostUpdate(t.Context(), 1, escalation.PublicUpdate{Status: escalation.PublicResolved, Message: "Fixed."}, byBikram))
	h.runDue()
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Acme Status: Slow dashboards [investigating] Some dashboards load slowly.", "Acme Status: Slow dashboards [resolved] Fixed."}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("subscriber got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
