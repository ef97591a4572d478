package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
)

// cmdOncall prints who is on call, from when to when, in the schedule's
// timezone and in each person's own.
func cmdOncall(args []string, now time.Time, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("oncall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	only := fs.String("schedule", "", "only this schedule")
	at := fs.String("at", "", "start of the timeline, RFC 3339 (default: now)")
	days := fs.Int("days", 7, "how many days to show")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "klaxon oncall: --config FILE is required")
		return 2
	}
	if *days < 1 || *days > 366 {
		fmt.Fprintln(stderr, "klaxon oncall: --days must be from 1 to 366")
		return 2
	}
	from := now
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "klaxon oncall: --at %q: want RFC 3339, like 2025-03-09T08:00:00Z\n", *at)
			return 2
		}
		from = t
	}
	cfg, err := config.Load(*path, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cat := cfg.Catalog()
	names := slices.Sorted(maps.Keys(cat.Schedules))
	if *only != "" {
		if _, ok := cat.Schedules[*only]; !ok {
			fmt.Fprintf(stderr, "klaxon oncall: unknown schedule %q (the config has: %s)\n", *only, strings.Join(names, ", "))
			return 1
		}
		names = []string{*only}
	}
	if len(names) == 0 {
		fmt.Fprintln(stdout, "no schedules in the config")
		return 0
	}
	to := from.Add(time.Duration(*days) * 24 * time.Hour)
	for i, name := range names {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printTimeline(stdout, cat, name, from, to)
	}
	return 0
}

func printTimeline(w io.Writer, cat *escalation.Catalog, name string, from, to time.Time) {
	s := cat.Schedules[name]
	fmt.Fprintf(w, "%s (%s), %s to %s\n", name, s.Location, from.In(s.Location).Format("Mon 2006-01-02 15:04"), to.In(s.Location).Format("Mon 2006-01-02 15:04"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHO\tFROM\tTO\tTHEIR OWN TIME")
	const layout = "Mon 01-02 15:04 MST"
	for _, span := range s.Timeline(from, to) {
		who, own := span.Person, ""
		if who == "" {
			who = "(nobody)"
		} else if p := cat.People[span.Person]; p != nil && p.Timezone != nil && p.Timezone.String() != s.Location.String() {
			own = span.From.In(p.Timezone).Format(layout) + " → " + span.To.In(p.Timezone).Format(layout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", who, span.From.In(s.Location).Format(layout), span.To.In(s.Location).Format(layout), own)
	}
	tw.Flush()
}
