package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/status"
)

// statusHistory is how far back the page shows resolved incidents.
const statusHistory = 90 * 24 * time.Hour

// publicSource builds the status page's snapshot from the engine: only
// what responders published, on the services marked public.
type publicSource struct {
	eng interface {
		PublicIncidents(ctx context.Context, since time.Time) ([]escalation.PublicIncident, error)
		StoreID(ctx context.Context) (string, error)
	}
	cfg   *config.Config
	clock escalation.Clock
}

// publicIncidentID is an incident's id on the status page: stable, and
// not its number, which would tell anyone how many incidents there have
// been (the hash is keyed by the database's random id, so numbers cannot
// be tried one by one).
func publicIncidentID(storeID string, n int64) string {
	sum := sha256.Sum256([]byte("klaxon status incident\x00" + storeID + "\x00" + strconv.FormatInt(n, 10)))
	return hex.EncodeToString(sum[:6])
}

// impactOf is how badly an incident of a priority hurts, as customers see
// it.
func impactOf(p escalation.Priority) string {
	switch p {
	case escalation.P0:
		return status.ImpactCritical
	case escalation.P1:
		return status.ImpactMajor
	case escalation.P2:
		return status.ImpactMinor
	}
	return status.ImpactNone
}

// componentID is a public service's id on the status page: stable, and
// not its name in the config, which is internal ("checkout-prod-eu-db7");
// the public sees only the name it was given for them.
func componentID(service string) string {
	sum := sha256.Sum256([]byte("klaxon status component\x00" + service))
	return hex.EncodeToString(sum[:6])
}

func (s publicSource) Snapshot(ctx context.Context) (status.Snapshot, error) {
	now := s.clock.Now()
	snap := status.Snapshot{Page: status.Page{Name: s.cfg.PublicName(), URL: s.cfg.Status.URL}, Generated: now}
	public := map[string]bool{}
	for _, svc := range s.cfg.Services {
		if svc.Public != nil {
			public[svc.Name] = true
		}
	}
	incs, err := s.eng.PublicIncidents(ctx, now.Add(-statusHistory))
	if err != nil {
		return status.Snapshot{}, err
	}
	storeID, err := s.eng.StoreID(ctx)
	if err != nil {
		return status.Snapshot{}, err
	}
	for _, pi := range incs {
		id := publicIncidentID(storeID, pi.ID)
		inc := status.Incident{ID: id, Title: pi.Public.Title, Status: pi.Public.Status,
			Impact: impactOf(pi.Priority), StartedAt: pi.Public.StartedAt, UpdatedAt: pi.Public.UpdatedAt}
		for _, svc := range pi.Services {
			if public[svc] {
				inc.Components = append(inc.Components, componentID(svc))
			}
		}
		for i := len(pi.Updates) - 1; i >= 0; i-- {
			ev := pi.Updates[i]
			inc.Updates = append(inc.Updates, status.Update{ID: fmt.Sprintf("%s-%d", id, i+1), Status: ev.Status, Message: ev.Message, At: ev.At})
			if ev.Status == escalation.PublicResolved && inc.ResolvedAt.IsZero() && pi.Public.Status == escalation.PublicResolved {
				inc.ResolvedAt = ev.At
			}
		}
		snap.Incidents = append(snap.Incidents, inc)
	}
	for _, svc := range s.cfg.Services {
		if svc.Public == nil {
			continue
		}
		name := svc.Public.Name
		if name == "" {
			name = svc.Name
		}
		id := componentID(svc.Name)
		snap.Components = append(snap.Components, status.Component{ID: id, Name: name, Group: svc.Public.Group,
			Status: status.DeriveComponentStatus(id, false, snap.Incidents), UpdatedAt: now})
	}
	return snap, nil
}

// exporter re-renders status.export_dir when something public changes.
// Changes are coalesced: one export runs at a time, and a change during it
// causes one more.
type exporter struct {
	dir     string
	src     status.Source
	log     *slog.Logger
	changed chan struct{}
}

func newExporter(dir string, src status.Source, log *slog.Logger) *exporter {
	return &exporter{dir: dir, src: src, log: log, changed: make(chan struct{}, 1)}
}

// Changed asks for a new export; it never blocks.
func (x *exporter) Changed() {
	select {
	case x.changed <- struct{}{}:
	default:
	}
}

// run exports once at start and after every change until ctx ends.
func (x *exporter) run(ctx context.Context) {
	x.Changed()
	for {
		select {
		case <-ctx.Done():
			return
		case <-x.changed:
		}
		if err := x.export(ctx); err != nil {
			x.log.Error("status page export failed; the last good export stays in place", "dir", x.dir, "err", err)
		}
	}
}

func (x *exporter) export(ctx context.Context) error {
	snap, err := x.src.Snapshot(ctx)
	if err != nil {
		return err
	}
	return status.Export(x.dir, snap)
}

// cmdStatus runs "klaxon status export --config FILE --out DIR": the
// status page as static files, from the database.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprintln(stderr, "usage: klaxon status export --config FILE --out DIR [--db FILE]")
		return 2
	}
	fs := flag.NewFlagSet("status export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	out := fs.String("out", "", "directory to write the page to (replaced atomically)")
	db := fs.String("db", "", "bbolt database file (default: the config's database)")
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if *path == "" || *out == "" {
		fmt.Fprintln(stderr, "usage: klaxon status export --config FILE --out DIR [--db FILE]")
		return 2
	}
	cfg, err := config.Load(*path, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *db != "" {
		cfg.Database = *db
	}
	st, eng, err := openOffline(cfg, "while klaxon serve runs, set status.export_dir and it re-renders on every change")
	if err != nil {
		fmt.Fprintf(stderr, "klaxon status export: %v\n", err)
		return 1
	}
	defer st.Close()
	if err := newExporter(*out, publicSource{eng: eng, cfg: cfg, clock: escalation.SystemClock{}}, nil).export(ctx); err != nil {
		fmt.Fprintf(stderr, "klaxon status export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "status page written to %s\n", *out)
	return 0
}

// statusCacheTTL bounds how stale a cached snapshot may get with no public
// update: the page's history strips and component ages move with time.
const statusCacheTTL = 30 * time.Second

// cachedSource keeps the last snapshot until a public update or the TTL
// renews it, so a crowd refreshing /status during an outage reads memory,
// not every stored incident.
type cachedSource struct {
	src   status.Source
	clock escalation.Clock

	mu    sync.Mutex
	snap  status.Snapshot
	taken time.Time
	valid bool
}

func newCachedSource(src status.Source, clock escalation.Clock) *cachedSource {
	return &cachedSource{src: src, clock: clock}
}

// Changed drops the cached snapshot.
func (c *cachedSource) Changed() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}

func (c *cachedSource) Snapshot(ctx context.Context) (status.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.clock.Now(); !c.valid || now.Sub(c.taken) >= statusCacheTTL || now.Before(c.taken) {
		snap, err := c.src.Snapshot(ctx)
		if err != nil {
			return status.Snapshot{}, err
		}
		c.snap, c.taken, c.valid = snap, now, true
	}
	return c.snap, nil
}
