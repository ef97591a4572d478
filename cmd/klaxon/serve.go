package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/bot/twilio"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/intake"
	"github.com/klaxonhq/klaxon/internal/web"
	"github.com/klaxonhq/klaxon/metrics"
	"github.com/klaxonhq/klaxon/status"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/watch"
)

// app is a wired Klaxon: store, engine, runner and HTTP routes.
type app struct {
	db     *store.DB
	intake *intake.Journal
	// stopApply ends the intake applier and waits for it.
	stopApply func()
	engine    *escalation.Engine
	runner    *escalation.Runner
	handler   http.Handler
	chats     *chats
	watch     *watch.Checker // nil without a watch
	export    *exporter      // nil without status.export_dir
}

// lateEngine lets what the engine's options need (the metrics exporter,
// the status page's source) read from the engine once it is built.
type lateEngine struct{ e *escalation.Engine }

func (l *lateEngine) Stats(ctx context.Context) (escalation.Stats, error) { return l.e.Stats(ctx) }

func (l *lateEngine) PublicIncidents(ctx context.Context, since time.Time) ([]escalation.PublicIncident, error) {
	return l.e.PublicIncidents(ctx, since)
}

func (l *lateEngine) StoreID(ctx context.Context) (string, error) { return l.e.StoreID(ctx) }

// newApp wires everything from a validated config and starts applying the
// intake journal. The caller calls a.close.
// httpClient carries outbound chat API calls (nil: the adapters' own).
func newApp(cfg *config.Config, clock escalation.Clock, log *slog.Logger, httpClient *http.Client) (_ *app, err error) {
	specs, err := genericSpecs(cfg)
	if err != nil {
		return nil, err
	}
	late := &lateEngine{}
	exp := metrics.New(late)
	db, err := store.Open(cfg.Database, store.Options{ObserveCommit: exp.ObserveCommit})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	cat := cfg.Catalog()
	pagers, err := phonePagers(cfg, log)
	if err != nil {
		return nil, err
	}
	ch, err := newChats(cfg, log, httpClient)
	if err != nil {
		return nil, err
	}
	ch.pagers(pagers)
	ch.publicID = func(ctx context.Context, n int64) (string, error) {
		id, err := late.StoreID(ctx)
		return publicIncidentID(id, n), err
	}
	// The status page is read by customers during outages: its snapshot is
	// cached, and every public update renews it (and the export).
	src := newCachedSource(publicSource{eng: late, cfg: cfg, clock: clock}, clock)
	var export *exporter
	onPublic := src.Changed
	if cfg.Status.ExportDir != "" {
		export = newExporter(cfg.Status.ExportDir, src, log)
		onPublic = func() { src.Changed(); export.Changed() }
	}
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cat, Clock: clock, Logger: log, Pagers: pagers,
		Chats: ch.mirrors(), Metrics: exp, OnPublicChange: onPublic})
	if err != nil {
		return nil, err
	}
	late.e = eng
	if err := ch.handlers(eng, clock); err != nil {
		return nil, err
	}
	runner := escalation.NewRunner(eng)
	journal, err := intake.Open(context.Background(), eng, intake.Options{Dir: intakeDir(cfg.Database), Prefill: true,
		ObserveFlush: exp.ObserveFlush, Logger: log})
	if err != nil {
		return nil, err
	}
	exp.WatchIntake(journal.Backlog, clock.Now)

	tokens := make([]api.Token, 0, len(cfg.API.Tokens))
	for _, t := range cfg.API.Tokens {
		tokens = append(tokens, api.Token{Name: t.Name, Token: t.Token})
	}
	mux := routes(routeDeps{
		ingest: ingest.NewHandler(cat.Integrations, journal, log, cfg.MaxBodyBytes).WithGeneric(specs).
			WithRateLimit(ingest.RateLimit{PerSecond: float64(cfg.RateLimit.PerSecond), Burst: cfg.RateLimit.Burst}, clock.Now),
		heartbeats: ingest.NewHeartbeats(cat.Heartbeats, eng, log),
		api: api.NewHandler(api.Options{Engine: eng, Tokens: tokens, CalendarToken: cfg.API.CalendarToken,
			Drafts: drafter{eng: eng, opts: postmortemOptions(cfg)}, Backup: db, Catalog: cat, Clock: clock, Logger: log}),
		twilio:  twilioWebhooks(cfg, eng, cat, log),
		chats:   ch,
		status:  status.NewHandler(src, log),
		metrics: exp,
		runner:  runner,
		clock:   clock,
	})
	chk, err := newWatch(cfg, clock, log)
	if err != nil {
		journal.Close()
		return nil, err
	}
	stopApply := journal.Start()
	handler := web.RecoverCounting(log, exp.HTTPPanic, currentReads(journal, mux))
	return &app{db: db, intake: journal, stopApply: stopApply, engine: eng, runner: runner,
		handler: handler, chats: ch, watch: chk, export: export}, nil
}

// intakeDir is where the intake journal of a database lives.
func intakeDir(database string) string { return database + ".intake" }

// close stops intake, applies what was accepted (for at most ten seconds;
// the rest is applied at the next start) and closes the store.
func (a *app) close() error {
	a.intake.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.intake.Wait(ctx)
	a.stopApply()
	return a.db.Close()
}

// currentReads makes the API show every alert acknowledged to its sender
// before the request: it first waits (up to two seconds, then it answers
// from what is applied) for the intake journal to be applied.
func currentReads(j *intake.Journal, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/") {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			_ = j.Wait(ctx)
			cancel()
		}
		next.ServeHTTP(w, r)
	})
}

func twilioWebhooks(cfg *config.Config, eng *escalation.Engine, cat *escalation.Catalog, log *slog.Logger) *twilio.Webhooks {
	if !cfg.TwilioEnabled() {
		return nil
	}
	return twilio.NewWebhooks(cfg.Twilio.AuthToken, cfg.PublicURL, eng, cat, log)
}

type routeDeps struct {
	ingest     *ingest.Handler
	heartbeats *ingest.Heartbeats
	api        *api.Handler
	twilio     *twilio.Webhooks // nil without Twilio
	chats      *chats
	status     *status.Handler
	metrics    *metrics.Exporter
	runner     *escalation.Runner
	clock      escalation.Clock
}

// routes is the table of everything Klaxon serves.
func routes(d routeDeps) *http.ServeMux {
	mux := http.NewServeMux()
	d.ingest.Register(mux)     // POST /hooks/{integration}[/{token}], POST /v2/enqueue, /v2/alerts...
	d.heartbeats.Register(mux) // GET|POST /heartbeat/{name}[/fail|/start]
	d.api.Register(mux)        // /api/v1/incidents...
	if d.twilio != nil {
		d.twilio.Register(mux) // POST /twilio/sms, POST /twilio/voice/gather
	}
	d.chats.register(mux)  // POST /slack/commands, /slack/interactions, /discord/interactions
	d.status.Register(mux) // GET /status, /status.json, /status/feed.atom, /api/v2/summary.json
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		web.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		last := d.runner.LastPass()
		if last.IsZero() || d.clock.Now().Sub(last) > 2*time.Minute {
			web.JSON(w, http.StatusServiceUnavailable, map[string]any{"status": "runner not ticking", "last_pass": last})
			return
		}
		web.JSON(w, http.StatusOK, map[string]any{"status": "ready", "last_pass": last})
	})
	return mux
}

// genericSpecs are the generic integrations' field paths, checked: a path
// that cannot match is a config error, at startup and in klaxon check.
func genericSpecs(cfg *config.Config) (map[string]ingest.GenericSpec, error) {
	out := map[string]ingest.GenericSpec{}
	for _, in := range cfg.Integrations {
		f := in.Fields
		if f == nil || in.Format != config.FormatGeneric {
			continue
		}
		spec := genericSpec(*f)
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("integration %s: fields: %w", in.Name, err)
		}
		out[in.Name] = spec
	}
	return out, nil
}

// serve runs the HTTP server and the runner until ctx ends.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if gc := tuneGC(); gc != 100 {
		log.Debug("garbage collector", "gc_percent", gc)
	}
	a, err := newApp(cfg, escalation.SystemClock{}, log, nil)
	if err != nil {
		return err
	}
	defer a.close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("klaxon serving", "listen", ln.Addr().String(), "database", cfg.Database, "pagers", providerNames(cfg),
		"slack", cfg.SlackEnabled(), "discord", cfg.DiscordEnabled(), "services", len(cfg.Services), "people", len(cfg.People))

	runCtx, stopRunner := context.WithCancel(ctx)
	defer stopRunner()
	a.chats.background(runCtx)
	runWatch(runCtx, a.watch, a.engine, cfg)
	go runRetention(runCtx, a.engine, cfg.Retention, log)
	if a.export != nil {
		go a.export.run(runCtx)
	}
	if cfg.Watchdog.URL != "" {
		wd := &watchdog{url: cfg.Watchdog.URL, every: cfg.Watchdog.Every, runner: a.runner, clock: escalation.SystemClock{},
			client: &http.Client{}, log: log}
		go wd.run(runCtx)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.runner.Run(runCtx); err != nil {
			log.Error("runner stopped", "err", err)
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopRunner()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("klaxon shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	stopRunner()
	wg.Wait()
	a.chats.wait()
	return nil
}

// gcPercent is the collector's heap goal while serving. Klaxon keeps its
// state in bbolt's memory map, not the Go heap: the live heap is a few
// megabytes, so at the runtime's default of 100 an alert flood collects
// about thirty times a second. Five times the live heap costs tens of
// megabytes and a tenth of the CPU per alert (BENCHMARKS.md).
const gcPercent = 400

// tuneGC sets gcPercent unless the collector is not at the runtime's
// default (the operator set GOGC), and returns the setting in force.
func tuneGC() int {
	prev := debug.SetGCPercent(gcPercent)
	if prev != 100 {
		debug.SetGCPercent(prev)
		return prev
	}
	return gcPercent
}
