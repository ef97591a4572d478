package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/intake"
	"github.com/klaxonhq/klaxon/store"
)

func noEnv(string) (string, bool) { return "", false }

// exampleConfig is config.example.yaml with its database in a temp dir.
func exampleConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("../../config.example.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = filepath.Join(t.TempDir(), "klaxon.db")
	return cfg
}

func TestCheckExampleConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", "--config", "../../config.example.yaml"}, &out, &errOut, noEnv)
	if code != 0 {
		t.Fatalf("check exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "is valid: 3 people, 2 policies, 2 services, 2 integrations; pager: console") {
		t.Fatalf("check said %q", out.String())
	}
}

func TestCheckReportsEveryProblemWithItsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := `
people:
  - name: ana
    timezone: Europe/Stokholm
    phone: "0701"
    contact_rules: [{channel: pigeon, after: 0s}]
policies:
  - name: default
    levels: [{targets: [dave], delay: 1m}]
services:
  - name: web
    policy: db
integrations:
  - {name: am, service: web, format: alertmanager, token: "${AM_TOKEN}"}
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"check", "--config", path}, &out, &errOut, noEnv); code != 1 {
		t.Fatalf("check exited %d, want 1", code)
	}
	for _, want := range []string{
		`people[0].timezone: unknown time zone "Europe/Stokholm"`,
		`people[0].phone: "0701" is not E.164`,
		`people[0].contact_rules[0].channel`,
		`policies[0].levels[0].targets[0]: unknown person "dave"`,
		`services[0].policy: unknown policy "db"`,
		`integrations[0].token: environment variable AM_TOKEN is not set`,
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve"}, {"check"}} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, &out, &errOut, noEnv); code != 2 {
			t.Errorf("klaxon %v exited %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("klaxon %v printed no help", args)
		}
	}
}

// The wired app on the example config: the walkthrough's alert goes in,
// the incident comes out of the API, and the console pager logs the page.
func TestWalkthroughOnExampleConfig(t *testing.T) {
	cfg := exampleConfig(t)
	var logBuf syncBuffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	clock := escalationtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
	a, err := newApp(cfg, clock, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	srv := httptest.NewServer(a.handler)
	defer srv.Close()

	body, err := os.ReadFile("testdata/alertmanager_v4_firing.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks/alertmanager-checkout", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer demo-alertmanager-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	// The webhook's 200 means the alert is in the intake journal; it is
	// applied to an incident right after.
	if err := a.intake.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.engine.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logBuf.String(), "PAGE sms") {
		t.Fatalf("no page in the log:\n%s", logBuf.String())
	}

	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/api/v1/incidents/1/ack", strings.NewReader(`{"as":"alice"}`))
	req.Header.Set("Authorization", "Bearer demo-api-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Incident escalation.Incident }
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Incident.Status != escalation.StatusAcknowledged {
		t.Fatalf("after ack: %+v", got.Incident)
	}

	// What happened is in /metrics.
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`klaxon_alerts_received_total{integration="alertmanager-checkout",outcome="created"} 1`,
		`klaxon_pages_total{channel="sms",outcome="sent",provider="console"} 2`, // the urgent policy pages two
		`klaxon_incidents_open{priority="P1",status="acknowledged"} 1`,
		`klaxon_outbox_depth 0`,
		`klaxon_escalation_lag_seconds_count 2`,
		`klaxon_stats_scrape_error 0`,
	} {
		if !strings.Contains(string(scraped), want) {
			t.Errorf("/metrics lacks %s in\n%s", want, grepKlaxon(string(scraped)))
		}
	}
	// The alert's journal flush and the store's commits were timed.
	for _, h := range []string{"klaxon_store_commit_seconds_count", "klaxon_intake_flush_seconds_count"} {
		if !strings.Contains(string(scraped), h) || strings.Contains(string(scraped), h+" 0\n") {
			t.Errorf("/metrics lacks %s, or counts none", h)
		}
	}

	// Twilio stays off without credentials; its webhooks are not routed.
	resp, err = http.Post(srv.URL+"/twilio/sms", "application/x-www-form-urlencoded", strings.NewReader("Body=ack"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/twilio/sms without Twilio: %d", resp.StatusCode)
	}
}

// The on-call timeline across the spring-forward weekend of 2026 in
// Stockholm: carmen's weekend layer over the weekly rotation, and each
// person's own clock.
func TestOncallTimelineAcrossDST(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"oncall", "--config", "../../config.example.yaml", "--at", "2026-03-27T12:00:00Z", "--days", "5"}, &out, &errOut, noEnv)
	if code != 0 {
		t.Fatalf("oncall exited %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"primary (Europe/Stockholm), Fri 2026-03-27 13:00 to Wed 2026-04-01 14:00",
		"alice   Fri 03-27 13:00 CET   Fri 03-27 17:00 CET",
		"carmen  Fri 03-27 17:00 CET   Mon 03-30 09:00 CEST  Fri 03-27 09:00 PDT → Mon 03-30 00:00 PDT",
		"bikram  Mon 03-30 09:00 CEST  Wed 04-01 14:00 CEST  Mon 03-30 18:00 AEDT → Wed 04-01 23:00 AEDT",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("oncall output lacks %q:\n%s", want, out.String())
		}
	}
	for _, args := range [][]string{
		{"oncall", "--config", "../../config.example.yaml", "--schedule", "secondary"},
		{"oncall", "--config", "../../config.example.yaml", "--at", "yesterday"},
	} {
		out.Reset()
		errOut.Reset()
		if code := run(t.Context(), args, &out, &errOut, noEnv); code == 0 || errOut.Len() == 0 {
			t.Errorf("klaxon %v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}

// check lints schedules over the next eight weeks: nobody on call at night,
// and a handoff at 02:30 on the night the clocks go forward.
func TestCheckLintsSchedules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sched.yaml")
	cfg := `
people:
  - {name: ana, timezone: Europe/Berlin, phone: "+49305550101", contact_rules: [{channel: sms, after: 0s}]}
  - {name: ben, timezone: Europe/Berlin, phone: "+49305550102", contact_rules: [{channel: sms, after: 0s}]}
schedules:
  - name: days
    timezone: Europe/Berlin
    layers:
      - participants: [ana, ben]
        shift: 1d
        handoff: "02:30"
        start: 2025-03-01
        restrictions: [{from: "08:00", to: "20:00"}]
  - name: rota
    timezone: Europe/Berlin
    layers:
      - participants: [ana, ben]
        shift: 1d
        handoff: "02:30"
        start: 2025-03-01
policies:
  - name: p
    levels: [{targets: [schedule:days, schedule:rota], delay: 5m}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	now := time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC)
	if code := cmdCheck([]string{"--config", path}, now, &out, &errOut, noEnv); code != 0 {
		t.Fatalf("check exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "warning: schedule days:") {
		t.Fatalf("no schedule warnings:\n%s", out.String())
	}
	var gap, dst bool
	for _, line := range strings.Split(out.String(), "\n") {
		gap = gap || strings.HasPrefix(line, "warning: schedule days: nobody") && strings.Contains(line, "20:00")
		dst = dst || strings.HasPrefix(line, "warning: schedule rota:") && strings.Contains(line, "2025-03-30")
	}
	if !gap || !dst {
		t.Fatalf("want a nightly gap from 20:00 and the 2025-03-30 handoff flagged:\n%s", out.String())
	}
}

// simulate runs the real engine on a fake clock: a Saturday-night P2 on
// storage goes to carmen (on call for primary), and bikram, asleep on a
// Sydney Sunday outside his working days, is woken a minute after level 2.
func TestSimulateWhoIsWoken(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"simulate", "--config", "../../config.example.yaml", "--service", "storage",
		"--at", "2026-03-29T01:00:00Z", "--for", "3m"}, &out, &errOut, noEnv)
	if code != 0 {
		t.Fatalf("simulate exited %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"P2 incident on storage at 2026-03-29 01:00 UTC, nobody acknowledging for 3m0s (policy default)",
		"+0s     01:00:00  sms carmen",
		"Sat 18:00 PDT",
		"skipped bikram (asleep, 12:01 AEDT): woken 1m0s later",
		"+2m0s   01:02:00  sms bikram",
		"Sun 12:02 AEDT",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("simulate output lacks %q:\n%s", want, out.String())
		}
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"simulate", "--config", "../../config.example.yaml", "--service", "nope"}, &out, &errOut, noEnv); code != 1 || !strings.Contains(errOut.String(), `unknown service "nope"`) {
		t.Errorf("unknown service: exit %d, %q", code, errOut.String())
	}
}

// The config accepts exactly the formats ingest serves: a format added to
// one and not the other would load and then 404, or never load.
func TestConfigFormatsAreTheIngestFormats(t *testing.T) {
	if got, want := config.Formats(), ingest.Formats(); !slices.Equal(got, want) {
		t.Fatalf("config formats %v, ingest formats %v", got, want)
	}
}

// A postmortem draft from the API while serving, and from the command line
// once the server is stopped; the command names the API while the database
// is in use.
func TestPostmortemDraftFromTheAPIAndTheCommandLine(t *testing.T) {
	cfg := exampleConfig(t)
	clock := escalationtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
	a, err := newApp(cfg, clock, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := a.engine.Open(t.Context(), "checkout", "Checkout returns 502", escalation.P1, escalation.Actor{Name: "alice", Via: escalation.ViaAPI})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.engine.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(7 * time.Minute)
	if _, err := a.engine.Acknowledge(t.Context(), inc.ID, escalation.Actor{Name: "bikram", Via: escalation.ViaSMS}); err != nil {
		t.Fatal(err)
	}

	req := httptest.NewRequest(http.MethodGet, "/api/v1/incidents/1/postmortem.md", nil)
	req.Header.Set("Authorization", "Bearer demo-api-token")
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/markdown; charset=utf-8" ||
		!strings.Contains(rec.Body.String(), "# Postmortem") || !strings.Contains(rec.Body.String(), "7m") {
		t.Fatalf("API draft: %d %s\n%s", rec.Code, rec.Header(), rec.Body)
	}

	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"postmortem", "--config", "../../config.example.yaml", "--db", cfg.Database, "1"}, &out, &errOut, noEnv); code != 1 ||
		!strings.Contains(errOut.String(), "/api/v1/incidents/1/postmortem.md") {
		t.Fatalf("while serving: exit %d, %s", code, errOut.String())
	}
	a.close()
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"postmortem", "--config", "../../config.example.yaml", "--db", cfg.Database, "1"}, &out, &errOut, noEnv); code != 0 ||
		out.String() != rec.Body.String() {
		t.Fatalf("command line: exit %d %s\n%s", code, errOut.String(), out.String())
	}
	if code := run(t.Context(), []string{"postmortem", "--config", "../../config.example.yaml", "--db", cfg.Database, "9"}, &out, &errOut, noEnv); code != 1 ||
		!strings.Contains(errOut.String(), "incident #9 does not exist") {
		t.Fatalf("unknown incident: exit %d %s", code, errOut.String())
	}
}

func grepKlaxon(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "klaxon_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A backup taken while serving is a database Klaxon opens with every
// incident in it; one taken with Klaxon stopped is too.
func TestBackupWhileServingAndStopped(t *testing.T) {
	cfg := exampleConfig(t)
	dir := filepath.Dir(cfg.Database)
	cfgPath := filepath.Join(dir, "klaxon.yaml")
	example, _ := os.ReadFile("../../config.example.yaml")
	os.WriteFile(cfgPath, []byte(strings.Replace(string(example), "database: ./klaxon.db", "database: "+cfg.Database, 1)), 0o600)
	a, err := newApp(cfg, escalationtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.engine.Open(t.Context(), "checkout", "Checkout returns 502", escalation.P1, escalation.Actor{Name: "alice", Via: escalation.ViaAPI}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	defer srv.Close()

	var out, errOut bytes.Buffer
	online := filepath.Join(dir, "online.db")
	if code := run(t.Context(), []string{"backup", "--config", cfgPath, "--out", online, "--url", srv.URL}, &out, &errOut, noEnv); code != 0 ||
		!strings.Contains(out.String(), "from the running server") {
		t.Fatalf("online backup: exit %d: %s %s", code, out.String(), errOut.String())
	}
	if code := run(t.Context(), []string{"backup", "--config", cfgPath, "--out", online, "--url", srv.URL, "--token", "wrong"}, &out, &errOut, noEnv); code != 1 ||
		!strings.Contains(errOut.String(), "401") {
		t.Fatalf("backup with a wrong token: exit %d: %s", code, errOut.String())
	}
	a.close()
	offline := filepath.Join(dir, "offline.db")
	out.Reset()
	if code := run(t.Context(), []string{"backup", "--config", cfgPath, "--out", offline}, &out, &errOut, noEnv); code != 0 ||
		!strings.Contains(out.String(), "from the database file") {
		t.Fatalf("offline backup: exit %d: %s %s", code, out.String(), errOut.String())
	}
	for _, path := range []string{online, offline} {
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var inc *escalation.Incident
		err = db.View(t.Context(), func(tx escalation.Tx) error { inc, err = tx.Incident(1); return err })
		db.Close()
		if err != nil || inc.Title != "Checkout returns 502" {
			t.Fatalf("%s: incident %+v, %v", path, inc, err)
		}
	}
}

// A responder publishes; the page at /status, its JSON and the exported
// static copy all say it — and nothing about the alert's own text.
func TestStatusPageShowsOnlyWhatWasPublished(t *testing.T) {
	cfg := exampleConfig(t)
	dir := filepath.Dir(cfg.Database)
	cfg.Status.ExportDir = filepath.Join(dir, "site")
	clock := escalationtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
	a, err := newApp(cfg, clock, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	_, err = a.engine.Open(t.Context(), "checkout", "db-7 replication lag 900s (internal)", escalation.P1, escalation.Actor{Name: "alice", Via: escalation.ViaAPI})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	if page := get("/status"); !strings.Contains(page, "Checkout") || strings.Contains(page, "replication") {
		t.Fatalf("status page before any update:\n%s", page)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/incidents/1/updates",
		strings.NewReader(`{"status":"investigating","title":"Checkout errors","message":"Some payments fail; we are on it.","as":"alice"}`))
	req.Header.Set("Authorization", "Bearer demo-api-token")
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	page := get("/status")
	for _, want := range []string{"Checkout errors", "Some payments fail; we are on it."} {
		if !strings.Contains(page, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	if strings.Contains(page, "replication") || strings.Contains(get("/api/v2/summary.json"), "replication") {
		t.Error("the alert's internal text reached the public page")
	}
	if !strings.Contains(get("/api/v2/summary.json"), `"partial_outage"`) {
		t.Error("a P1 incident did not mark its component partial_outage")
	}
	for _, path := range []string{"/api/v2/summary.json", "/status.json"} {
		if body := get(path); strings.Contains(body, `"checkout"`) {
			t.Errorf("%s names the service as the config does:\n%s", path, body)
		}
		// Nor does it number the incident: #1 would tell how many there were.
		if body := get(path); strings.Contains(body, `"id": "1"`) || strings.Contains(body, `"id": "1-1"`) {
			t.Errorf("%s shows the incident's number:\n%s", path, body)
		}
	}
	// The responders raise it to P0 among themselves: customers see that
	// only with the next update they publish.
	if _, err := a.engine.SetPriority(t.Context(), 1, escalation.P0, escalation.Actor{Name: "alice", Via: escalation.ViaAPI}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // past the served page's cache
	if summary := get("/api/v2/summary.json"); !strings.Contains(summary, `"partial_outage"`) || strings.Contains(summary, `"major_outage"`) {
		t.Errorf("an internal priority change reached the public page:\n%s", summary)
	}
	req = httptest.NewRequest(http.MethodPost, "/api/v1/incidents/1/updates",
		strings.NewReader(`{"status":"identified","message":"No payments go through; we found why.","as":"alice"}`))
	req.Header.Set("Authorization", "Bearer demo-api-token")
	rec = httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("second update: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(get("/api/v2/summary.json"), `"major_outage"`) {
		t.Error("the P0 published with the next update did not mark its component major_outage")
	}
	if err := a.export.export(t.Context()); err != nil {
		t.Fatal(err)
	}
	exported, err := os.ReadFile(filepath.Join(cfg.Status.ExportDir, "index.html"))
	if err != nil || !strings.Contains(string(exported), "Checkout errors") {
		t.Fatalf("export: %v", err)
	}
}

// exampleWithIntegration is config.example.yaml's text with one more
// integration, given as its YAML list item, in its integrations list.
func exampleWithIntegration(t *testing.T, item string) string {
	t.Helper()
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "  - name: pagerduty-storage\n"
	if !strings.Contains(string(example), anchor) {
		t.Fatalf("config.example.yaml no longer has %q to put an integration before", anchor)
	}
	return strings.Replace(string(example), anchor, item+anchor, 1)
}

// Any monitor with a webhook: a generic integration reads its JSON through
// field paths in the config.
func TestGenericIntegrationFromTheConfig(t *testing.T) {
	doc := exampleWithIntegration(t, `  - name: homegrown
    service: checkout
    format: generic
    token: homegrown-token-0123456789
    fields: {alerts: checks, dedup_key: id, summary: title, severity: level, status: state}
`)
	cfg, err := config.Parse([]byte(doc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = filepath.Join(t.TempDir(), "klaxon.db")
	a, err := newApp(cfg, escalationtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/hooks/homegrown", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer homegrown-token-0123456789")
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		return rec
	}
	if rec := post(`{"checks": [{"id": "disk-db1", "title": "disk full on db-1", "level": "critical", "state": "failing"}]}`); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), `"status":"accepted"`) || !strings.Contains(rec.Body.String(), `"queued":1`) {
		t.Fatalf("firing: %d %s", rec.Code, rec.Body)
	}
	if rec := post(`{"checks": [{"id": "disk-db1", "state": "ok"}]}`); rec.Code != http.StatusOK {
		t.Fatalf("resolved: %d %s", rec.Code, rec.Body)
	}
	a.intake.Wait(t.Context())
	inc, _, err := a.engine.Incident(t.Context(), 1)
	if err != nil || inc.Status != escalation.StatusResolved || inc.Title != "disk full on db-1" {
		t.Fatalf("incident %+v, %v", inc, err)
	}
	if rec := post(`{"checks": [{"title": "no id"}]}`); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "id: required") {
		t.Fatalf("no id: %d %s", rec.Code, rec.Body)
	}
}

// The IPv4 outage replayed through the wired app: alerts flap, responders
// publish four updates. The served page, the exported directory and the
// postmortem draft tell the same story, in order.
func TestIPv4OutageReplayedOnTheStatusPageAndPostmortem(t *testing.T) {
	cfg := exampleConfig(t)
	dir := filepath.Dir(cfg.Database)
	cfg.Status.ExportDir = filepath.Join(dir, "site")
	clock := escalationtest.NewClock(time.Date(2025, 7, 9, 12, 32, 0, 0, time.UTC))
	a, err := newApp(cfg, clock, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	serve := func(method, path, token, body string) string {
		t.Helper()
		return settle(t, a, method, path, token, body)
	}
	alert := func(status string) {
		body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"IPv4Unreachable\"}","status":%q,"receiver":"klaxon",
			"alerts":[{"status":%q,"labels":{"alertname":"IPv4Unreachable","severity":"critical"},"annotations":{"summary":"edge-v4 probe failing (internal)"},
			"startsAt":"2025-07-09T12:32:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"bgp"}]}`, status, status)
		serve(http.MethodPost, "/hooks/alertmanager-checkout", "demo-alertmanager-token", body)
	}
	update := func(at, status, msg, title string) {
		clock.Set(mustParse(t, "2025-07-09T"+at+":00Z"))
		body := fmt.Sprintf(`{"status":%q,"message":%q,"title":%q,"as":"alice"}`, status, msg, title)
		serve(http.MethodPost, "/api/v1/incidents/1/updates", "demo-api-token", body)
	}
	alert("firing")
	update("12:40", "investigating", "Some customers cannot reach checkout over IPv4.", "Checkout unreachable over IPv4")
	clock.Set(mustParse(t, "2025-07-09T12:41:00Z"))
	alert("resolved")
	clock.Set(mustParse(t, "2025-07-09T12:46:00Z"))
	alert("firing")
	update("12:50", "identified", "Our provider's IPv4 routing is unstable.", "")
	clock.Set(mustParse(t, "2025-07-09T13:34:00Z"))
	alert("resolved")
	update("13:40", "monitoring", "Routing is stable again; we are watching.", "")
	update("14:30", "resolved", "Checkout is reachable over IPv4 again.", "")

	messages := []string{"Checkout is reachable over IPv4 again.", "Routing is stable again; we are watching.",
		"Our provider&#39;s IPv4 routing is unstable.", "Some customers cannot reach checkout over IPv4."}
	inOrder := func(what, doc string, parts []string) {
		t.Helper()
		at := -1
		for _, p := range parts {
			i := strings.Index(doc, p)
			if i <= at {
				t.Fatalf("%s: %q missing or out of order", what, p)
			}
			at = i
		}
	}
	public := func(what, doc string) {
		t.Helper()
		inOrder(what, doc, messages)
		if strings.Contains(doc, "edge-v4 probe") {
			t.Fatalf("%s shows the alert's internal text", what)
		}
	}
	page := serve(http.MethodGet, "/status", "", "")
	public("/status", page)
	if strings.Count(page, "Checkout unreachable over IPv4") != 1 {
		t.Fatalf("/status does not show exactly one incident")
	}
	if err := a.export.export(t.Context()); err != nil {
		t.Fatal(err)
	}
	exported, err := os.ReadFile(filepath.Join(cfg.Status.ExportDir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	public("the exported page", string(exported))

	draft := serve(http.MethodGet, "/api/v1/incidents/1/postmortem.md", "demo-api-token", "")
	inOrder("the postmortem timeline", draft[strings.Index(draft, "Timeline"):], []string{"12:32", "12:40", "12:41", "12:46", "12:50", "13:34", "13:40", "14:30"})
	for _, want := range []string{"Some customers cannot reach checkout over IPv4.", "Checkout is reachable over IPv4 again.", "Reopened"} {
		if !strings.Contains(draft, want) {
			t.Errorf("postmortem lacks %q", want)
		}
	}
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A monitor stuck in a loop is told to slow down — 429 with Retry-After —
// and what it sent over its budget is not stored; other integrations are
// not held back.
func TestAMonitorInALoopIsRateLimited(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.RateLimit = &config.RateLimit{PerSecond: 1, Burst: 3}
	clock := escalationtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
	a, err := newApp(cfg, clock, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	send := func(integration, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+integration, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		return rec
	}
	am := func(fp string) string {
		return fmt.Sprintf(`{"version":"4","groupKey":%q,"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Loop"},"annotations":{"summary":"loop"},"startsAt":"2025-06-02T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":%q}]}`, fp, fp)
	}
	for i := range 3 {
		if rec := send("alertmanager-checkout", "demo-alertmanager-token", am(fmt.Sprint("fp", i))); rec.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := send("alertmanager-checkout", "demo-alertmanager-token", am("fp-over"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the budget: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	a.intake.Wait(t.Context())
	if incs, _ := a.engine.Incidents(t.Context(), "", 0); len(incs) != 1 || incs[0].Alerts != 3 {
		t.Fatalf("stored %+v; want one incident of the 3 alerts within the budget", incs)
	}
	// Another integration has its own budget; a second later this one has
	// room again.
	pd := `{"routing_key":"demo-pagerduty-routing-key","event_action":"trigger","dedup_key":"disk","payload":{"summary":"disk","source":"db","severity":"error"}}`
	req := httptest.NewRequest(http.MethodPost, "/v2/enqueue", strings.NewReader(pd))
	prec := httptest.NewRecorder()
	a.handler.ServeHTTP(prec, req)
	if prec.Code != http.StatusAccepted {
		t.Fatalf("another integration: %d %s", prec.Code, prec.Body)
	}
	clock.Advance(time.Second)
	if rec := send("alertmanager-checkout", "demo-alertmanager-token", am("fp-later")); rec.Code != http.StatusOK {
		t.Fatalf("a second later: %d %s", rec.Code, rec.Body)
	}
}

// Klaxon was killed after answering a webhook and before applying it; the
// postmortem (or backup) run before the next start still sees the alert.
func TestOfflineCommandsApplyWhatTheJournalHolds(t *testing.T) {
	cfg := exampleConfig(t)
	db, err := store.Open(cfg.Database, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cfg.Catalog(), Clock: escalation.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := intake.Open(t.Context(), eng, intake.Options{Dir: intakeDir(cfg.Database)})
	if err != nil {
		t.Fatal(err)
	}
	alert := escalation.Alert{DedupKey: "fp1", State: escalation.AlertFiring, Summary: "checkout down"}
	if res, err := j.Ingest(t.Context(), "alertmanager-checkout", []escalation.Alert{alert}); err != nil || res.Queued != 1 {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	j.Close() // never applied: the process died here
	db.Close()

	db, eng, err = openOffline(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inc, _, err := eng.Incident(t.Context(), 1)
	if err != nil || inc.Title != "checkout down" {
		t.Fatalf("incident %+v, %v; want the journal's alert applied", inc, err)
	}
}

// The collector runs at Klaxon's heap goal unless the operator set GOGC,
// whose value then stands.
func TestTuneGCKeepsAnOperatorsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // the runtime's default, as without GOGC
	if got := tuneGC(); got != gcPercent || debug.SetGCPercent(100) != gcPercent {
		t.Fatalf("without GOGC: tuneGC = %d; want %d in force", got, gcPercent)
	}
	debug.SetGCPercent(250) // as GOGC=250 leaves it
	if got := tuneGC(); got != 250 || debug.SetGCPercent(250) != 250 {
		t.Fatalf("with GOGC=250: tuneGC = %d; want 250 kept", got)
	}
}

// --help is an answer, not a mistake; a stray argument is a mistake, not
// ignored.
func TestSubcommandHelpAndStrayArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"check", "--help"}, 0},
		{[]string{"serve", "-h"}, 0},
		{[]string{"simulate", "--help"}, 0},
		{[]string{"check", "--config", "../../config.example.yaml", "extra"}, 2},
		{[]string{"oncall", "--config", "../../config.example.yaml", "extra"}, 2},
	} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), tc.args, &out, &errOut, noEnv); code != tc.code {
			t.Errorf("klaxon %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.code, errOut.String())
		}
	}
}

// A database in a directory that does not exist passes the config's own
// checks and would fail serve at once here: check warns (the config may
// be served on another machine).
func TestCheckWarnsOfADatabaseInAMissingDirectory(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "gone", "klaxon.db")
	path := filepath.Join(t.TempDir(), "klaxon.yaml")
	doc := strings.Replace(string(example), "database: ./klaxon.db", "database: "+missing, 1)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"check", "--config", path}, &out, &errOut, noEnv); code != 0 ||
		!strings.Contains(out.String(), "warning: database: the directory") {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
}

// A config with two or three mistakes in each of the SMS gateways, the
// generic integrations' field paths and the watch, and one elsewhere: one
// check lists them all, each at its path, in config order, and serve
// refuses the config with the same list. Nothing has to be fixed to find
// the next.
func TestCheckReportsEveryAdapterProblem(t *testing.T) {
	doc := exampleWithIntegration(t, `  - name: homegrown
    service: checkout
    format: generic
    token: homegrown-token-0123456789
    fields: {alerts: "checks.", dedup_key: id, summary: "a..b"}
  - name: homegrown-batch
    service: checkout
    format: generic
    token: homegrown-token-9876543210
    fields: {dedup_key: "x..y", labels: ".tags"}
`) + `
sms_gateways:
  - name: callgw
    channels: [voice, pigeon]
    url: "https://gw.example.com/call?to={{.To"
    headers: {"Bad Header": x, authorization: "Bearer {{.Secret"}
    secret: gateway-secret-0123456789
  - name: smsgw
    url: "ftp://gw.example.com/send"
    body: '{"text": "{{.Text}}"}'
    content_type: application/json
watch:
  service: checkout
  rdap_base: "ftp://rdap.example.com"
  targets:
    - {host: "shop example.com"}
    - {host: 192.0.2.10, domain: example}
    - {host: shop.example.com}
    - {host: Shop.Example.com.}
`
	doc = strings.Replace(doc, "      - {channel: voice, after: 30s}\n", "      - {channel: fax, after: 30s}\n", 1)
	path := filepath.Join(t.TempDir(), "klaxon.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"invalid config " + path + ":",
		`people[0].contact_rules[1].channel: unknown channel "fax" (want sms, voice, slack or discord)`,
		`integrations[1].fields.alerts: "checks." has an empty step (write a.b.c)`,
		`integrations[1].fields.summary: "a..b" has an empty step (write a.b.c)`,
		`integrations[2].fields.dedup_key: "x..y" has an empty step (write a.b.c)`,
		`integrations[2].fields.labels: ".tags" has an empty step (write a.b.c)`,
		`sms_gateways[0].channels[1]: unknown channel "pigeon" (want sms or voice)`,
		`sms_gateways[0].url: template: url:1: unclosed action`,
		`sms_gateways[0].headers.Bad Header: not a valid header name`,
		`sms_gateways[0].headers.authorization: template: headers.authorization:1: unclosed action`,
		`sms_gateways[1].url: renders no absolute http or https URL`,
		`sms_gateways[1].body: renders invalid JSON for a text with quotes and a newline; write values as {{.Text | json}}`,
		`watch.rdap_base: "ftp://rdap.example.com" is not an absolute http or https URL`,
		`watch.targets[0].host: "shop example.com": want letters, digits and hyphens (internationalised names as xn-- A-labels)`,
		`watch.targets[1].host: "192.0.2.10" is an address: name the host, and the watch looks up its IPv4 and IPv6 addresses`,
		`watch.targets[1].domain: "example": want a registrable domain such as example.com`,
		`watch.targets[3]: shop.example.com is watch.targets[2] again`,
	}
	for _, cmd := range []string{"check", "serve"} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{cmd, "--config", path}, &out, &errOut, noEnv)
		if got := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n"); code != 1 || !slices.Equal(got, want) {
			t.Errorf("klaxon %s exited %d, said:\n%s\nwant:\n%s", cmd, code, errOut.String(), strings.Join(want, "\n"))
		}
	}
}

// settle sends one request to a's routes with the bearer token if any,
// fails the test unless it is answered 2xx, and waits until what it sent
// is applied and what fell due has run; it returns the answer's body.
func settle(t *testing.T, a *app, method, path, token, body string) string {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	if err := a.intake.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.engine.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	return rec.Body.String()
}
