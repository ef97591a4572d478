// Package metrics exports Klaxon's counters, histograms and gauges in the
// Prometheus format at /metrics, every name prefixed klaxon_.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klaxonhq/klaxon/escalation"
)

// StatsSource reads the engine's state for the gauges.
type StatsSource interface {
	Stats(ctx context.Context) (escalation.Stats, error)
}

// Exporter implements escalation.Metrics and serves /metrics.
type Exporter struct {
	reg     *prometheus.Registry
	alerts  *prometheus.CounterVec
	pages   *prometheus.CounterVec
	lag     prometheus.Histogram
	panics  *prometheus.CounterVec
	commit  prometheus.Histogram
	callers prometheus.Histogram
	flush   prometheus.Histogram
	flushed prometheus.Histogram
}

// New builds an exporter whose gauges read stats at each scrape (nil:
// no gauges).
func New(stats StatsSource) *Exporter {
	x := &Exporter{
		reg: prometheus.NewRegistry(),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "klaxon_alerts_received_total",
			Help: "Alerts received, by integration and outcome (created, updated, reopened, unchanged, ignored, error)."},
			[]string{"integration", "outcome"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "klaxon_pages_total",
			Help: "Page delivery attempts by channel, provider and outcome (sent, retry, failed)."},
			[]string{"channel", "provider", "outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "klaxon_escalation_lag_seconds",
			Help:    "From a page falling due to it being handed to its provider.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "klaxon_recovered_panics_total",
			Help: "Panics (and, for incident, failed escalation steps) recovered without stopping the process, by where."},
			[]string{"where"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "klaxon_store_commit_seconds",
			Help:    "Store commit latency: one transaction with its fsync.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}),
		callers: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "klaxon_store_commit_callers",
			Help:    "Callers sharing one group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "klaxon_intake_flush_seconds",
			Help:    "Intake journal flushes: an append made durable, which every accepted delivery waits for before its 2xx.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}),
		flushed: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "klaxon_intake_flush_deliveries",
			Help:    "Deliveries sharing one intake journal flush.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}}),
	}
	// Every place a panic is recovered shows from the start, at zero.
	for _, where := range append(escalation.PanicPlaces(), panicHTTP) {
		x.panics.WithLabelValues(where)
	}
	x.reg.MustRegister(x.alerts, x.pages, x.lag, x.panics, x.commit, x.callers, x.flush, x.flushed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		x.reg.MustRegister(newGauges(stats))
	}
	return x
}

// Alerts implements escalation.Metrics.
func (x *Exporter) Alerts(integration, outcome string, n int) {
	x.alerts.WithLabelValues(integration, outcome).Add(float64(n))
}

// Page implements escalation.Metrics.
func (x *Exporter) Page(ch escalation.Channel, provider, outcome string) {
	if provider == "" {
		provider = "none"
	}
	x.pages.WithLabelValues(string(ch), provider, outcome).Inc()
}

// Lag implements escalation.Metrics.
func (x *Exporter) Lag(d time.Duration) { x.lag.Observe(max(d, 0).Seconds()) }

// Panic implements escalation.Metrics; HTTP handlers count as "http".
func (x *Exporter) Panic(where string) { x.panics.WithLabelValues(where).Inc() }

// panicHTTP is where HTTP handlers' panics are counted.
const panicHTTP = "http"

// HTTPPanic counts a panic recovered in an HTTP handler.
func (x *Exporter) HTTPPanic() { x.Panic(panicHTTP) }

// ObserveCommit is the store's commit hook.
func (x *Exporter) ObserveCommit(d time.Duration, callers int) {
	x.commit.Observe(d.Seconds())
	x.callers.Observe(float64(callers))
}

// ObserveFlush is the intake journal's flush hook.
func (x *Exporter) ObserveFlush(d time.Duration, deliveries int) {
	x.flush.Observe(d.Seconds())
	x.flushed.Observe(float64(deliveries))
}

// IntakeBacklog reports the alerts accepted and not yet applied, and when
// the oldest of them was received.
type IntakeBacklog func() (alerts int, oldest time.Time)

// WatchIntake adds the intake journal's gauges: its backlog, and how long
// its oldest alert has waited to be applied (0 when none), read on now.
func (x *Exporter) WatchIntake(backlog IntakeBacklog, now func() time.Time) {
	x.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "klaxon_intake_backlog_alerts",
			Help: "Alerts accepted into the intake journal and not yet applied to incidents."},
			func() float64 { n, _ := backlog(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "klaxon_intake_delay_seconds",
			Help: "How long the oldest alert not yet applied has waited (0: none waiting)."},
			func() float64 {
				_, oldest := backlog()
				if oldest.IsZero() {
					return 0
				}
				return max(now().Sub(oldest), 0).Seconds()
			}))
}

// Handler serves the registry in the Prometheus text format.
func (x *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{})
}

// gauges reads open incidents and outbox depth at scrape time.
type gauges struct {
	stats                              StatsSource
	incidents, outbox, chat, scrapeErr *prometheus.Desc
}

func newGauges(stats StatsSource) *gauges {
	return &gauges{
		stats:     stats,
		incidents: prometheus.NewDesc("klaxon_incidents_open", "Open incidents by status and priority.", []string{"status", "priority"}, nil),
		outbox:    prometheus.NewDesc("klaxon_outbox_depth", "Pages queued or being sent.", nil, nil),
		chat:      prometheus.NewDesc("klaxon_chat_backlog", "Chat messages waiting to be posted or updated.", nil, nil),
		scrapeErr: prometheus.NewDesc("klaxon_stats_scrape_error", "1 when the last read of the engine's state failed.", nil, nil),
	}
}

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.incidents
	ch <- g.outbox
	ch <- g.chat
	ch <- g.scrapeErr
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := g.stats.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(g.scrapeErr, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(g.scrapeErr, prometheus.GaugeValue, 0)
	for _, status := range []escalation.Status{escalation.StatusTriggered, escalation.StatusAcknowledged} {
		for p := escalation.P0; p <= escalation.P4; p++ {
			ch <- prometheus.MustNewConstMetric(g.incidents, prometheus.GaugeValue, float64(st.Open[status][p]),
				string(status), "P"+strconv.Itoa(int(p)))
		}
	}
	ch <- prometheus.MustNewConstMetric(g.outbox, prometheus.GaugeValue, float64(st.Outbox))
	ch <- prometheus.MustNewConstMetric(g.chat, prometheus.GaugeValue, float64(st.ChatBacklog))
}
