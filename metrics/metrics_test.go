package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

type fixedStats struct {
	st  escalation.Stats
	err error
}

func (f fixedStats) Stats(context.Context) (escalation.Stats, error) { return f.st, f.err }

func scrape(t *testing.T, x *Exporter) string {
	t.Helper()
	rec := httptest.NewRecorder()
	x.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func expectLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l+"\n") {
			t.Errorf("scrape lacks %q", l)
		}
	}
}

// A night of paging, as the counters tell it: a failover, a retry, a
// panic in a handler that the process survived.
func TestCountersAndGaugesOfANight(t *testing.T) {
	x := New(fixedStats{st: escalation.Stats{
		Open:   map[escalation.Status]map[escalation.Priority]int{escalation.StatusTriggered: {escalation.P1: 2}},
		Outbox: 3, ChatBacklog: 1,
	}})
	x.Alerts("prometheus", "created", 40)
	x.Alerts("prometheus", "unchanged", 2)
	x.Page(escalation.ChannelSMS, "twilio", "failed")
	x.Page(escalation.ChannelSMS, "gateway", "sent")
	x.Page(escalation.ChannelVoice, "", "retry")
	x.Lag(1500 * time.Millisecond)
	x.ObserveCommit(3*time.Millisecond, 12)
	x.ObserveFlush(400*time.Microsecond, 8)

	h := web.RecoverCounting(slog.New(slog.DiscardHandler), x.HTTPPanic, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))

	expectLines(t, scrape(t, x),
		`klaxon_alerts_received_total{integration="prometheus",outcome="created"} 40`,
		`klaxon_alerts_received_total{integration="prometheus",outcome="unchanged"} 2`,
		`klaxon_pages_total{channel="sms",outcome="failed",provider="twilio"} 1`,
		`klaxon_pages_total{channel="sms",outcome="sent",provider="gateway"} 1`,
		`klaxon_pages_total{channel="voice",outcome="retry",provider="none"} 1`,
		`klaxon_escalation_lag_seconds_bucket{le="2.5"} 1`,
		`klaxon_escalation_lag_seconds_bucket{le="1"} 0`,
		`klaxon_store_commit_seconds_count 1`,
		`klaxon_store_commit_callers_bucket{le="16"} 1`,
		`klaxon_intake_flush_seconds_bucket{le="0.00025"} 0`,
		`klaxon_intake_flush_seconds_bucket{le="0.0005"} 1`,
		`klaxon_intake_flush_deliveries_bucket{le="4"} 0`,
		`klaxon_intake_flush_deliveries_bucket{le="8"} 1`,
		`klaxon_recovered_panics_total{where="http"} 1`,
		`klaxon_incidents_open{priority="P1",status="triggered"} 2`,
		`klaxon_incidents_open{priority="P0",status="acknowledged"} 0`,
		`klaxon_outbox_depth 3`,
		`klaxon_chat_backlog 1`,
		`klaxon_stats_scrape_error 0`,
	)
}

// An alert on increase(klaxon_recovered_panics_total[5m]) must see the
// first panic, so every place shows at zero before any.
func TestPanicCountersStartAtZero(t *testing.T) {
	expectLines(t, scrape(t, New(nil)),
		`klaxon_recovered_panics_total{where="http"} 0`,
		`klaxon_recovered_panics_total{where="incident"} 0`,
		`klaxon_recovered_panics_total{where="page"} 0`,
		`klaxon_recovered_panics_total{where="pager"} 0`,
		`klaxon_recovered_panics_total{where="chat"} 0`,
		`klaxon_recovered_panics_total{where="runner"} 0`,
	)
}

func TestAFailedStatsReadIsAGaugeNotAFailedScrape(t *testing.T) {
	x := New(fixedStats{err: errors.New("store closed")})
	body := scrape(t, x)
	expectLines(t, body, `klaxon_stats_scrape_error 1`)
	if strings.Contains(body, "klaxon_outbox_depth") {
		t.Error("stale gauges exported after a failed read")
	}
}
