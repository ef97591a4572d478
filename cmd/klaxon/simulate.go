package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// cmdSimulate answers "who gets woken, when, if nobody acknowledges?" by
// running the real engine on a fake clock and a throwaway store.
func cmdSimulate(ctx context.Context, args []string, now time.Time, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	service := fs.String("service", "", "the service that breaks")
	priority := fs.String("priority", "P2", "the incident's priority, P0 to P4")
	at := fs.String("at", "", "when it breaks, RFC 3339 (default: now)")
	span := fs.Duration("for", time.Hour, "how long nobody acknowledges")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *path == "" || *service == "" {
		fmt.Fprintln(stderr, "klaxon simulate: --config FILE and --service NAME are required")
		return 2
	}
	p, err := escalation.ParsePriority(*priority)
	if err != nil {
		fmt.Fprintf(stderr, "klaxon simulate: --priority: %v\n", err)
		return 2
	}
	if *span <= 0 || *span > 7*24*time.Hour {
		fmt.Fprintln(stderr, "klaxon simulate: --for must be positive and at most 168h")
		return 2
	}
	start := now
	if *at != "" {
		if start, err = time.Parse(time.RFC3339, *at); err != nil {
			fmt.Fprintf(stderr, "klaxon simulate: --at %q: want RFC 3339, like 2025-03-09T03:00:00+01:00\n", *at)
			return 2
		}
	}
	cfg, err := config.Load(*path, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, ok := cfg.Catalog().Services[*service]; !ok {
		fmt.Fprintf(stderr, "klaxon simulate: unknown service %q\n", *service)
		return 1
	}
	if err := simulate(ctx, cfg.Catalog(), *service, p, start, *span, stdout); err != nil {
		fmt.Fprintf(stderr, "klaxon simulate: %v\n", err)
		return 1
	}
	return 0
}

func simulate(ctx context.Context, cat *escalation.Catalog, service string, p escalation.Priority, start time.Time, span time.Duration, w io.Writer) error {
	dir, err := os.MkdirTemp("", "klaxon-simulate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "simulate.db"), store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	clock := escalation.NewManualClock(start)
	accept := escalation.PagerFunc(func(context.Context, escalation.Page) (escalation.Delivery, error) {
		return escalation.Delivery{Provider: "simulated"}, nil
	})
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cat, Clock: clock, Logger: slog.New(slog.DiscardHandler),
		Pagers: map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: accept, escalation.ChannelVoice: accept}})
	if err != nil {
		return err
	}
	inc, err := eng.Open(ctx, service, "what if nobody acknowledges", p, escalation.Actor{Name: "simulate", Via: "cli"})
	if err != nil {
		return err
	}
	if err := eng.RunUntil(ctx, clock, start.Add(span)); err != nil {
		return err
	}
	_, events, err := eng.Incident(ctx, inc.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s %s on %s at %s, nobody acknowledging for %s (policy %s):\n",
		inc.Priority, "incident", service, start.UTC().Format("2006-01-02 15:04 MST"), span, inc.Policy)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AFTER\tUTC\tWHAT\tTHEIR TIME")
	for _, ev := range events {
		line := ""
		switch ev.Kind {
		case escalation.EventPageSent:
			line = fmt.Sprintf("%s %s", ev.Channel, ev.Person)
		case escalation.EventEscalated, escalation.EventWoken, escalation.EventHandoff, escalation.EventPolicyExhausted:
			line = ev.Message
		default:
			continue
		}
		local := ""
		if person := cat.People[ev.Person]; person != nil {
			local = ev.At.In(person.Location()).Format("Mon 15:04 MST")
		}
		fmt.Fprintf(tw, "+%s\t%s\t%s\t%s\n", ev.At.Sub(start).Round(time.Second), ev.At.UTC().Format("15:04:05"), line, local)
	}
	return tw.Flush()
}
