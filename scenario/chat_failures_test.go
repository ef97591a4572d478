package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/bot/discord"
	"github.com/klaxonhq/klaxon/bot/slack"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/status"
)

// discordLimits wraps fakeDiscord with Discord's 2,000-character content
// limit: 400 / code 50035, as Discord answers.
type discordLimits struct {
	*fakeDiscord
	mu       sync.Mutex
	rejected []string
}

func (d *discordLimits) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct{ Content string }
	_ = json.Unmarshal(body, &m)
	if n := utf8.RuneCountInString(m.Content); n > 2000 {
		d.mu.Lock()
		d.rejected = append(d.rejected, fmt.Sprintf("400 %s %s (%d chars)", r.Method, r.URL.Path, n))
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message":"Invalid Form Body","code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	d.fakeDiscord.ServeHTTP(w, r)
}

// slackHooks wraps fakeSlack with an override per call.
type slackHooks struct {
	*fakeSlack
	mu     sync.Mutex
	hook   func(method string, form map[string][]string, w http.ResponseWriter) bool
	served []string
}

func (s *slackHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	_ = r.ParseForm()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil && hook(method, r.Form, w) {
		s.mu.Lock()
		s.served = append(s.served, "hooked "+method)
		s.mu.Unlock()
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Form, r.PostForm = nil, nil
	s.fakeSlack.ServeHTTP(w, r)
}

func limitsHarness(t *testing.T, extra map[string]func(sc *slack.Client, dc *discord.Client) escalation.Chat) (*harness, *slackHooks, *discordLimits) {
	t.Helper()
	fs := &slackHooks{fakeSlack: &fakeSlack{}}
	fd := &discordLimits{fakeDiscord: &fakeDiscord{threads: map[string]bool{}}}
	sc, dc := chatClients(t, fs, fd)
	h := newHarnessUnopened(t, team, "2026-03-02T01:00:00Z")
	h.chats = map[string]escalation.Chat{
		"slack":   &bot.Mirror{Client: sc, Default: "C0INCIDENTS"},
		"discord": &bot.Mirror{Client: dc, Default: "1200000000000000002"},
	}
	for name, mk := range extra {
		h.chats[name] = mk(sc, dc)
	}
	h.open()
	t.Cleanup(h.close)
	return h, fs, fd
}

func chatPost(h *harness, chat string, id int64) *escalation.ChatPost {
	var post *escalation.ChatPost
	_ = h.db.View(h.t.Context(), func(tx escalation.Tx) error {
		var err error
		post, err = tx.ChatPost(chat, id)
		return err
	})
	return post
}

// An alert summary of 2,100 characters makes a timeline entry longer than
// a Discord message may be: it is shown cut, and the ack and resolve after
// it reach the thread too.
func TestALongTimelineEntryDoesNotStopTheDiscordThread(t *testing.T) {
	h, _, fd := limitsHarness(t, nil)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", strings.Repeat("x", 2100)))
	h.runDue()
	if got := h.SMS("bikram", "ack"); !strings.Contains(got, "Acknowledged #1") {
		t.Fatalf("sms reply %q", got)
	}
	h.Advance(10 * time.Minute)
	if got := h.SMS("bikram", "resolve 1 fixed"); !strings.Contains(got, "Resolved #1") {
		t.Fatalf("sms reply %q", got)
	}
	h.Advance(10 * time.Minute)
	if p := chatPost(h, "discord", 1); p.Dirty {
		t.Errorf("discord post still dirty: %s", p.Error)
	}
	threaded := len(withPrefix(fd.Calls(), "thread "))
	if threaded == 0 || !strings.Contains(strings.Join(fd.Calls(), "\n"), "acknowledged by bikram") {
		t.Errorf("Discord thread got %d replies; the ack and resolve never reached it", threaded)
	}
}

// A public update within Klaxon's limits (title and message up to 2,000
// characters each) makes a message longer than Discord takes: it is shown
// cut, and the resolve after it goes out too.
func TestALongPublicUpdateStillReachesThePublicDiscordChannel(t *testing.T) {
	h, _, fd := limitsHarness(t, map[string]func(*slack.Client, *discord.Client) escalation.Chat{
		"public-discord": func(_ *slack.Client, dc *discord.Client) escalation.Chat {
			return &bot.PublicMirror{Client: dc, Channel: "1300000000000000001"}
		},
	})
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full"))
	h.runDue()
	h.ok(h.eng.PostUpdate(t.Context(), 1, escalation.PublicUpdate{Status: escalation.PublicInvestigating,
		Title: "Dashboards are slow for some customers in the EU region", Message: strings.Repeat("We are looking into it. ", 82)}, byBikram))
	h.runDue()
	h.Advance(time.Minute)
	h.ok(h.eng.PostUpdate(t.Context(), 1, escalation.PublicUpdate{Status: escalation.PublicResolved, Message: "Fixed."}, byBikram))
	h.runDue()
	h.Advance(10 * time.Minute)
	pub := withPrefix(fd.Calls(), "post 1300000000000000001")
	if len(pub) < 2 {
		t.Errorf("public Discord channel got %d of 2 public updates (the \"Fixed.\" resolve never went out)", len(pub))
	}
}

// Someone deletes the incident's Slack message: chat.update answers
// message_not_found, and the incident's message is posted again.
func TestADeletedSlackMessageIsPostedAgain(t *testing.T) {
	h, fs, _ := limitsHarness(t, nil)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.runDue()
	fs.mu.Lock()
	fs.hook = func(method string, form map[string][]string, w http.ResponseWriter) bool {
		if method == "chat.update" || (method == "chat.postMessage" && len(form["thread_ts"]) > 0) {
			if method == "chat.update" {
				fmt.Fprint(w, `{"ok":false,"error":"message_not_found"}`)
			} else {
				fmt.Fprint(w, `{"ok":false,"error":"thread_not_found"}`)
			}
			return true
		}
		return false
	}
	fs.mu.Unlock()
	h.SMS("bikram", "ack")
	h.Advance(time.Minute)
	h.SMS("bikram", "resolve 1 done")
	h.Advance(10 * time.Minute)
	posts := len(withPrefix(fs.Calls(), "post "))
	if posts < 2 {
		t.Errorf("the deleted incident message was never posted again (%d post(s)); Slack shows nothing for #1", posts)
	}
}

// Slack answers 429 with Retry-After: 120: the mirror does not ask again
// inside those two minutes.
func TestSlacksRetryAfterIsHonoured(t *testing.T) {
	h, fs, _ := limitsHarness(t, nil)
	var mu sync.Mutex
	var at []string
	until := mustTime(t, "2026-03-02T01:02:00Z")
	fs.hook = func(method string, form map[string][]string, w http.ResponseWriter) bool {
		if method != "chat.postMessage" || !h.Now().Before(until) {
			return false
		}
		mu.Lock()
		at = append(at, h.Now().Format("15:04:05"))
		mu.Unlock()
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
		return true
	}
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.AdvanceTo(until.Add(-time.Second))
	mu.Lock()
	defer mu.Unlock()
	if len(at) > 1 {
		t.Errorf("%d attempts inside the 120 s Slack asked to wait", len(at))
	}
}

// subscriberSink is a status-page subscriber's webhook receiver: it keeps
// the bodies it takes, and while down answers 503 and keeps none.
type subscriberSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	down   bool
}

func newSubscriberSink(t *testing.T, down bool) *subscriberSink {
	s := &subscriberSink{down: down}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		s.bodies = append(s.bodies, string(b))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *subscriberSink) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *subscriberSink) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// A subscriber's webhook names the incident by its public id, as the
// status page does, not by its number.
func TestSubscribersGetThePublicIncidentID(t *testing.T) {
	sub := newSubscriberSink(t, false)
	h, _, _ := limitsHarness(t, map[string]func(*slack.Client, *discord.Client) escalation.Chat{
		"subscriber-1": func(*slack.Client, *discord.Client) escalation.Chat {
			return &status.Subscriber{Page: "Acme", URL: sub.URL, Secret: "s3cret-s3cret-s3cret",
				IncidentID: func(_ context.Context, n int64) (string, error) { return fmt.Sprintf("pub-%x", n*7919), nil }}
		},
	})
	for i := 0; i < 41; i++ {
		h.Webhook("prometheus", alertmanager("firing", fmt.Sprintf("A%d", i), fmt.Sprintf("fp%d", i), "error", "x"))
	}
	h.runDue()
	h.ok(h.eng.PostUpdate(t.Context(), 41, escalation.PublicUpdate{Status: escalation.PublicInvestigating,
		Title: "Slow", Message: "Looking."}, byBikram))
	h.runDue()
	if bodies := sub.Bodies(); len(bodies) != 1 || !strings.Contains(bodies[0], `"id":"pub-4f447"`) {
		t.Errorf("subscriber payloads %q, want one with the public id", bodies)
	}
}

// Two public updates are made while the subscriber is down; delivered
// later, the "investigating" one still says investigating.
func TestADelayedSubscriberDeliveryKeepsItsUpdatesStatus(t *testing.T) {
	sub := newSubscriberSink(t, true)
	h, _, _ := limitsHarness(t, map[string]func(*slack.Client, *discord.Client) escalation.Chat{
		"subscriber-1": func(*slack.Client, *discord.Client) escalation.Chat {
			return &status.Subscriber{Page: "Acme", URL: sub.URL, Secret: "s3cret-s3cret-s3cret"}
		},
	})
	h.Webhook("prometheus", alertmanager("firing", "A", "fp", "error", "x"))
	h.runDue()
	h.ok(h.eng.PostUpdate(t.Context(), 1, escalation.PublicUpdate{Status: escalation.PublicInvestigating, Title: "Slow logins", Message: "Looking."}, byBikram))
	h.runDue()
	h.Advance(time.Minute)
	h.ok(h.eng.PostUpdate(t.Context(), 1, escalation.PublicUpdate{Status: escalation.PublicResolved, Title: "Login outage", Message: "Fixed."}, byBikram))
	h.runDue()
	sub.SetDown(false)
	h.Advance(10 * time.Minute)
	if bodies := sub.Bodies(); len(bodies) != 2 || !strings.Contains(bodies[0], `"message":"Looking."`) || !strings.Contains(bodies[0], `"status":"investigating"`) {
		t.Errorf("deliveries %q: the first should be the investigating update, saying investigating", bodies)
	}
}

// Posting in the channel is restricted for a while (Slack's
// restricted_action) while chat.update still works. Once it is allowed
// again, the next change brings the thread up to date: no entry of the
// outage is dropped as if it alone had been refused.
func TestAChatWideRefusalDropsNoEntry(t *testing.T) {
	h, fs, _ := limitsHarness(t, nil)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.runDue()
	restricted := true
	fs.mu.Lock()
	fs.hook = func(method string, form map[string][]string, w http.ResponseWriter) bool {
		if restricted && method == "chat.postMessage" && len(form["thread_ts"]) > 0 {
			fmt.Fprint(w, `{"ok":false,"error":"restricted_action"}`)
			return true
		}
		return false
	}
	fs.mu.Unlock()
	h.SMS("bikram", "ack")
	h.Advance(time.Minute)
	fs.mu.Lock()
	restricted = false
	fs.mu.Unlock()
	h.SMS("bikram", "note 1 db failover")
	h.Advance(time.Minute)
	acked := false
	for _, c := range fs.Calls() {
		if strings.HasPrefix(c, "reply ") && strings.Contains(c, "acknowledged by bikram") {
			acked = true
		}
	}
	if !acked {
		t.Errorf("the ack never reached the thread: %q", fs.Calls())
	}
}

// The deleted message is posted again and its thread replayed from the
// start; a 429 in the middle of the replay delays the rest, and loses
// none of it.
func TestAReplayedThreadSurvivesARateLimit(t *testing.T) {
	h, fs, _ := limitsHarness(t, nil)
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.runDue()
	h.SMS("bikram", "ack")
	h.Advance(time.Minute)
	h.SMS("bikram", "note 1 looking at it")
	h.Advance(time.Minute)
	var oldTS string
	for _, c := range fs.Calls() {
		if strings.HasPrefix(c, "post ") {
			oldTS = strings.Fields(c)[2]
		}
	}
	before := len(withPrefix(fs.Calls(), "reply "))
	updates, replies := 0, 0
	fs.mu.Lock()
	fs.hook = func(method string, form map[string][]string, w http.ResponseWriter) bool {
		if method == "chat.update" {
			updates++
			if updates == 1 {
				fmt.Fprint(w, `{"ok":false,"error":"message_not_found"}`)
				return true
			}
		}
		if method == "chat.postMessage" && len(form["thread_ts"]) > 0 && form["thread_ts"][0] != oldTS {
			replies++
			if replies == 2 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
				return true
			}
		}
		return false
	}
	fs.mu.Unlock()
	h.SMS("bikram", "note 1 still looking")
	h.Advance(10 * time.Minute)
	var newTS string
	for _, c := range fs.Calls() {
		if strings.HasPrefix(c, "post ") {
			newTS = strings.Fields(c)[2]
		}
	}
	after := 0
	for _, c := range fs.Calls() {
		if strings.HasPrefix(c, "reply ") && strings.Fields(c)[2] == newTS {
			after++
		}
	}
	if newTS == oldTS {
		t.Fatal("not posted again")
	}
	if after < before+1 {
		t.Errorf("new thread has %d replies; the old one had %d before the extra note", after, before)
	}
}
