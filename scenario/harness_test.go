// Package scenario replays incidents through the whole of Klaxon — the real
// HTTP routes, engine and bbolt store — on a fake clock, so hours of
// escalation run in milliseconds and each test reads like a timeline.
package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/intake"
	"github.com/klaxonhq/klaxon/internal/web"
	"github.com/klaxonhq/klaxon/store"
)

// harness is one Klaxon on a temp bbolt file and a fake clock, with a
// recording pager per channel.
type harness struct {
	t      *testing.T
	cfg    *config.Config
	clock  *escalationtest.Clock
	pagers map[escalation.Channel]*escalationtest.Pager
	dbPath string
	db     *store.DB
	eng    *escalation.Engine
	// intake is the journal webhooks go through, as in serve; stopApply
	// stops its applier.
	intake    *intake.Journal
	stopApply func()
	mux       http.Handler
	// seen counts pages already matched by ExpectPage.
	seen int
	// chats, when set before open, mirror incidents; route adds more
	// endpoints to the mux at each open.
	chats map[string]escalation.Chat
	dms   map[escalation.Channel]escalation.Pager
	route func(mux *http.ServeMux, eng *escalation.Engine)
}

const apiToken = "scenario-api-token-0123456789"

// calendarToken reads the .ics feeds only.
const calendarToken = "scenario-calendar-token-0123456789"

func newHarness(t *testing.T, cfgYAML string, start string) *harness {
	t.Helper()
	h := newHarnessUnopened(t, cfgYAML, start)
	h.open()
	t.Cleanup(h.close)
	return h
}

// newHarnessUnopened is newHarness before the store and engine exist, for
// tests that add chats or routes first.
func newHarnessUnopened(t *testing.T, cfgYAML string, start string) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clock := escalationtest.NewClock(mustTime(t, start))
	h := &harness{
		t: t, cfg: cfg, clock: clock,
		pagers: map[escalation.Channel]*escalationtest.Pager{
			escalation.ChannelSMS:   {Clock: clock, Provider: "sms-recorder"},
			escalation.ChannelVoice: {Clock: clock, Provider: "voice-recorder"},
		},
		dbPath: filepath.Join(t.TempDir(), "klaxon.db"),
	}
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := store.Open(h.dbPath, store.Options{})
	if err != nil {
		h.t.Fatalf("open store: %v", err)
	}
	pagers := map[escalation.Channel]escalation.Pager{}
	for ch, p := range h.pagers {
		pagers[ch] = p
	}
	for ch, p := range h.dms {
		pagers[ch] = p
	}
	log := slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := escalation.New(escalation.Options{
		Store: db, Catalog: h.cfg.Catalog(), Clock: h.clock, Logger: log, Pagers: pagers, Chats: h.chats,
	})
	if err != nil {
		h.t.Fatalf("engine: %v", err)
	}
	journal, err := intake.Open(context.Background(), eng, intake.Options{Dir: h.dbPath + ".intake", Logger: log,
		// Webhooks here come one at a time; spacing applies would only slow the tests.
		ApplyEvery: time.Millisecond})
	if err != nil {
		h.t.Fatalf("intake journal: %v", err)
	}
	stop := journal.Start()
	h.intake, h.stopApply = journal, func() { journal.Close(); stop() }
	mux := http.NewServeMux()
	ingest.NewHandler(h.cfg.Catalog().Integrations, journal, log, h.cfg.MaxBodyBytes).Register(mux)
	ingest.NewHeartbeats(h.cfg.Catalog().Heartbeats, eng, log).Register(mux)
	api.NewHandler(api.Options{Engine: eng, Tokens: []api.Token{{Name: "scenario", Token: apiToken}},
		CalendarToken: calendarToken, Catalog: h.cfg.Catalog(), Clock: h.clock, Logger: log}).Register(mux)
	if h.route != nil {
		h.route(mux, eng)
	}
	h.db, h.eng, h.mux = db, eng, web.Recover(log, mux)
}

// close stops the intake journal's applier, then the store.
func (h *harness) close() {
	h.stopApply()
	h.db.Close()
}

// Restart closes the database and opens it again, as a process restart
// would: nothing but the files carry over.
func (h *harness) Restart() {
	h.t.Helper()
	h.stopApply()
	if err := h.db.Close(); err != nil {
		h.t.Fatalf("close store: %v", err)
	}
	h.open()
	if _, err := h.eng.RecoverOutbox(context.Background()); err != nil {
		h.t.Fatalf("recover outbox: %v", err)
	}
	h.runDue()
}

// reconfigure restarts Klaxon on another config, as an operator's edit
// and restart would.
func (h *harness) reconfigure(cfgYAML string) {
	h.t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML), nil)
	if err != nil {
		h.t.Fatalf("config: %v", err)
	}
	h.cfg = cfg
	h.Restart()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return at
}

// Now is the fake clock's time.
func (h *harness) Now() time.Time { return h.clock.Now() }

func (h *harness) runDue() {
	h.t.Helper()
	if err := h.eng.RunDue(context.Background()); err != nil {
		h.t.Fatalf("run due work at %s: %v", h.Now().Format(time.RFC3339), err)
	}
}

// AdvanceTo moves the clock to at, doing all work that falls due on the way
// at the instant it falls due.
func (h *harness) AdvanceTo(at time.Time) {
	h.t.Helper()
	if err := h.eng.RunUntil(context.Background(), h.clock, at); err != nil {
		h.t.Fatalf("run until %s: %v", at.Format(time.RFC3339), err)
	}
}

// Advance moves the clock forward by d.
func (h *harness) Advance(d time.Duration) { h.AdvanceTo(h.Now().Add(d)) }

// Request sends an HTTP request through the routes, then lets due work run,
// as the runner would on its poke.
func (h *harness) Request(method, path string, header http.Header, body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, req)
	// A webhook's 2xx means its alerts are in the journal; the runner's
	// poke comes once they are applied.
	if err := h.intake.Wait(context.Background()); err != nil {
		h.t.Fatalf("intake: %v", err)
	}
	h.runDue()
	return rec
}

// Webhook posts an alert payload to an integration with its configured token.
func (h *harness) Webhook(integration string, body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	in, ok := h.cfg.Catalog().Integrations[integration]
	if !ok {
		h.t.Fatalf("no integration %q", integration)
	}
	hdr := http.Header{"Authorization": {"Bearer " + in.Token}, "Content-Type": {"application/json"}}
	return h.Request(http.MethodPost, "/hooks/"+integration, hdr, body)
}

// PagerDuty posts an Events API v2 event.
func (h *harness) PagerDuty(body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.Request(http.MethodPost, "/v2/enqueue", http.Header{"Content-Type": {"application/json"}}, body)
}

// API calls /api/v1 with the scenario's token.
func (h *harness) API(method, path string, body any) *httptest.ResponseRecorder {
	h.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			h.t.Fatal(err)
		}
	}
	return h.Request(method, path, http.Header{"Authorization": {"Bearer " + apiToken}}, raw)
}

// SMS is a reply text from a person's phone, run through the one command
// grammar as the SMS webhook runs it.
func (h *harness) SMS(person, text string) string {
	h.t.Helper()
	cmd, err := bot.Parse(text)
	if err != nil {
		return err.Error()
	}
	reply, err := bot.Execute(context.Background(), h.eng, escalation.Actor{Name: person, Via: escalation.ViaSMS}, cmd)
	h.runDue()
	if err != nil {
		return escalation.ErrorMessage(err)
	}
	return reply
}

// pages returns every delivered page across channels in time order.
func (h *harness) pages() []escalationtest.Sent {
	var all []escalationtest.Sent
	for _, ch := range []escalation.Channel{escalation.ChannelSMS, escalation.ChannelVoice} {
		all = append(all, h.pagers[ch].Delivered()...)
	}
	// Stable by time, then page id: pages of one instant keep queue order.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && less(all[j], all[j-1]); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	return all
}

func less(a, b escalationtest.Sent) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return a.Page.ID < b.Page.ID
}

// ExpectPages asserts the pages delivered since the last expectation, each
// written "15:04 person channel".
func (h *harness) ExpectPages(want ...string) {
	h.t.Helper()
	all := h.pages()
	got := make([]string, 0, len(all)-h.seen)
	for _, s := range all[h.seen:] {
		got = append(got, fmt.Sprintf("%s %s %s", s.At.UTC().Format("15:04"), s.Page.Person, s.Page.Channel))
	}
	h.seen = len(all)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		h.t.Fatalf("pages at %s:\n got:\n  %s\n want:\n  %s", h.Now().UTC().Format("15:04"),
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// ExpectNoPages asserts nothing was paged since the last expectation.
func (h *harness) ExpectNoPages() { h.t.Helper(); h.ExpectPages() }

// Incident reads an incident and its timeline.
func (h *harness) Incident(id int64) (*escalation.Incident, []escalation.Event) {
	h.t.Helper()
	inc, events, err := h.eng.Incident(context.Background(), id)
	if err != nil {
		h.t.Fatalf("incident %d: %v", id, err)
	}
	return inc, events
}

// ExpectStatus asserts an incident's status.
func (h *harness) ExpectStatus(id int64, want escalation.Status) *escalation.Incident {
	h.t.Helper()
	inc, _ := h.Incident(id)
	if inc.Status != want {
		h.t.Fatalf("incident #%d is %s, want %s", id, inc.Status, want)
	}
	return inc
}

// ExpectTimeline asserts the incident's timeline holds these kinds in this
// order (other entries may come between).
func (h *harness) ExpectTimeline(id int64, kinds ...escalation.EventKind) {
	h.t.Helper()
	_, events := h.Incident(id)
	i := 0
	for _, ev := range events {
		if i < len(kinds) && ev.Kind == kinds[i] {
			i++
		}
	}
	if i < len(kinds) {
		var got []string
		for _, ev := range events {
			got = append(got, string(ev.Kind))
		}
		h.t.Fatalf("incident #%d timeline lacks %s (in order %v); has %v", id, kinds[i], kinds, got)
	}
}

// fixture reads a payload from testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// alertmanager builds a one-alert Alertmanager v4 webhook. Its firing
// begins after any resolve of it ended, as a new occurrence does: a
// firing sent after the resolve of the same occurrence is stale (see
// TestALateCopyOfAFiringDoesNotReopen).
func alertmanager(status, alertname, fingerprint, severity, summary string) []byte {
	startsAt, endsAt := "2025-01-01T00:10:00Z", "0001-01-01T00:00:00Z"
	if status == "resolved" {
		startsAt, endsAt = "2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z"
	}
	msg := map[string]any{
		"version": "4", "groupKey": fmt.Sprintf("{}:{alertname=%q}", alertname), "status": status,
		"receiver": "klaxon", "groupLabels": map[string]string{"alertname": alertname},
		"externalURL": "http://alertmanager.example.org:9093",
		"alerts": []map[string]any{{
			"status":      status,
			"labels":      map[string]string{"alertname": alertname, "severity": severity},
			"annotations": map[string]string{"summary": summary},
			"startsAt":    startsAt, "endsAt": endsAt,
			"generatorURL": "http://prometheus.example.org:9090/graph", "fingerprint": fingerprint,
		}},
	}
	b, err := json.Marshal(msg)
	if err != nil {
		panic(err)
	}
	return b
}
