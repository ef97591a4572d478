package scale

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// startRunner runs eng's runner in the background. stop ends it, waits for
// it and returns its error; it may be called again (deferred, say), and
// returns the same error.
func startRunner(ctx context.Context, eng *escalation.Engine) (_ *escalation.Runner, stop func() error) {
	runCtx, cancel := context.WithCancel(ctx)
	runner := escalation.NewRunner(eng)
	done := make(chan error, 1)
	go func() { done <- runner.Run(runCtx) }()
	var once sync.Once
	var err error
	return runner, func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
}

// openIncidents counts the open incidents of stats, whatever their status
// and priority.
func openIncidents(stats escalation.Stats) int {
	open := 0
	for _, byPrio := range stats.Open {
		for _, n := range byPrio {
			open += n
		}
	}
	return open
}

// The catalog every benchmark uses: one person on one policy, paged by SMS
// five minutes after an incident opens and called three hours after; the
// next level is twelve hours away. So a new incident waits on one durable
// timer, and once it has paged, its next step is hours away.
const (
	person      = "oncall"
	solo        = "solo"    // integration and service: every dedup key its own incident
	grouped     = "grouped" // integration and service: incidents by the "group" label
	firstStep   = 5 * time.Minute
	secondStep  = 3 * time.Hour
	levelDelay  = 12 * time.Hour
	benchSource = "prometheus"
)

func catalog(smsAfter time.Duration) *escalation.Catalog {
	return &escalation.Catalog{
		People: map[string]*escalation.Person{person: {
			Name: person, Timezone: time.UTC, Phone: "+46701740605",
			Rules: []escalation.ContactRule{
				{Channel: escalation.ChannelSMS, After: smsAfter},
				{Channel: escalation.ChannelVoice, After: secondStep},
			},
		}},
		Policies: map[string]*escalation.Policy{"bench": {Name: "bench", Levels: []escalation.Level{
			{Targets: []escalation.Target{{Kind: escalation.TargetPerson, Name: person}}, Delay: levelDelay},
		}}},
		Services: map[string]*escalation.Service{
			solo:    {Name: solo, Policy: "bench", DefaultPriority: escalation.P2},
			grouped: {Name: grouped, Policy: "bench", DefaultPriority: escalation.P2, GroupBy: []string{"group"}},
		},
		Integrations: map[string]*escalation.Integration{
			solo:    {Name: solo, Service: solo, Format: "alertmanager", Token: "solo-token"},
			grouped: {Name: grouped, Service: grouped, Format: "alertmanager", Token: "grouped-token"},
		},
	}
}

// alert is a firing alert of about 0.5 KB, shaped like the webhook load
// generator's: five labels, a summary, a description and a link.
func alert(key string, group, rev int) escalation.Alert {
	return escalation.Alert{
		DedupKey: key,
		State:    escalation.AlertFiring,
		Severity: "critical",
		Summary:  "Instance node-" + key + " down (rev " + strconv.Itoa(rev) + ")",
		Details:  "The scrape target has been unreachable for more than 5 minutes.",
		Source:   benchSource,
		Labels: map[string]string{
			"alertname": "NodeDown", "instance": "node-" + key + ":9100", "job": "node",
			"severity": "critical", "group": "g" + strconv.Itoa(group),
		},
		Links: []escalation.Link{{Href: "http://127.0.0.1:9090/graph?g0.expr=up%3D%3D0", Text: "Prometheus"}},
	}
}

// groupKey is the key the grouped service gives group g's alerts.
func groupKey(g int) string { return fmt.Sprintf("group=%q", "g"+strconv.Itoa(g)) }

// ingestBatches sends batches 0..n-1, made by mk, through Engine.Ingest
// from workers goroutines, so concurrent deliveries share commits.
func ingestBatches(ctx context.Context, eng *escalation.Engine, integration string, n, workers int, mk func(i int) []escalation.Alert) error {
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if _, err := eng.Ingest(ctx, integration, mk(i)); err != nil {
					errs <- fmt.Errorf("batch %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// recorder is the pager: it timestamps every Send on the system clock.
type recorder struct {
	mu   sync.Mutex
	sent []sent
	want int           // negative: no count to wait for
	done chan struct{} // closed when want pages were sent
}

type sent struct {
	at   time.Time
	page escalation.Page
}

func newRecorder(want int) *recorder { return &recorder{want: want, done: make(chan struct{})} }

func (r *recorder) Send(_ context.Context, p escalation.Page) (escalation.Delivery, error) {
	at := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, sent{at: at, page: p})
	if len(r.sent) == r.want {
		close(r.done)
	}
	return escalation.Delivery{Provider: "recorder", ProviderID: strconv.FormatInt(p.ID, 10)}, nil
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

func (r *recorder) pagers() map[escalation.Channel]escalation.Pager {
	return map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: r, escalation.ChannelVoice: r}
}

// lagMetrics keeps the engine's claim lags (due in the outbox → claimed)
// and counts recovered panics; the rest is dropped.
type lagMetrics struct {
	mu     sync.Mutex
	lags   []time.Duration
	panics atomic.Int64
}

func (m *lagMetrics) Alerts(string, string, int)              {}
func (m *lagMetrics) Page(escalation.Channel, string, string) {}
func (m *lagMetrics) Panic(string)                            { m.panics.Add(1) }
func (m *lagMetrics) Lag(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lags = append(m.lags, d)
}

// commitStats counts the store's commits and the time they took.
type commitStats struct {
	commits, callers, nanos atomic.Int64
	// Transactions of at least longCommit: what others wait behind.
	long, longNanos, maxNanos atomic.Int64
}

// longCommit is a transaction (its fns and commit) long enough to show in
// a page's lag.
const longCommit = 20 * time.Millisecond

func (c *commitStats) observe(d time.Duration, callers int) {
	c.commits.Add(1)
	c.callers.Add(int64(callers))
	c.nanos.Add(int64(d))
	if d >= longCommit {
		c.long.Add(1)
		c.longNanos.Add(int64(d))
	}
	for {
		m := c.maxNanos.Load()
		if int64(d) <= m || c.maxNanos.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// countingStore counts the engine's transactions, to show that an idle
// runner does not poll.
type countingStore struct {
	escalation.Store
	views, updates atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(escalation.Tx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

func (s *countingStore) Update(ctx context.Context, fn func(escalation.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// liveHeap is the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers let go
	return heapLive()
}

// heapLive reads the live heap as of the last collection, without forcing
// one.
func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapObjects reads the bytes of heap objects now, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// rss is the process's resident set (which includes bbolt's mmap pages the
// process has touched), from /proc.
func rss() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("rss: no VmRSS in /proc/self/status")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
