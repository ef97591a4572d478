package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/postmortem"
)

// incidentReader is what a postmortem draft reads.
type incidentReader interface {
	Incident(ctx context.Context, id int64) (*escalation.Incident, []escalation.Event, error)
	IncidentAlerts(ctx context.Context, id int64) ([]*escalation.AlertRecord, error)
}

// draftPostmortem renders incident id's draft, with the incidents merged
// into it and the alerts of all of them, whose starts can date the
// incident earlier than Klaxon opened it.
func draftPostmortem(ctx context.Context, eng incidentReader, id int64, opts postmortem.Options) (string, error) {
	inc, events, err := eng.Incident(ctx, id)
	if err != nil {
		return "", err
	}
	// The caller's options are shared between requests: append to copies.
	opts.Merged, opts.Alerts = slices.Clip(opts.Merged), slices.Clip(opts.Alerts)
	alerts, err := eng.IncidentAlerts(ctx, id)
	if err != nil {
		return "", fmt.Errorf("alerts of incident #%d: %w", id, err)
	}
	opts.Alerts = append(opts.Alerts, alerts...)
	for _, mid := range postmortem.MergedFrom(events) {
		m, _, err := eng.Incident(ctx, mid)
		if escalation.ErrorCode(err) == escalation.CodeNotFound {
			continue // pruned after the retention; the timeline still tells of it
		}
		if err != nil {
			return "", fmt.Errorf("merged incident #%d: %w", mid, err)
		}
		opts.Merged = append(opts.Merged, m)
		// A merge moves the alerts to this incident, so a merged one
		// rarely holds any; one that fired again elsewhere has moved on.
		// Asked anyway, so that none it holds is missed.
		alerts, err := eng.IncidentAlerts(ctx, mid)
		if err != nil {
			return "", fmt.Errorf("alerts of merged incident #%d: %w", mid, err)
		}
		opts.Alerts = append(opts.Alerts, alerts...)
	}
	return postmortem.Draft(inc, events, opts), nil
}

// cmdPostmortem prints a Markdown postmortem draft of an incident from the
// database. A running server holds the database: ask its API instead
// (GET /api/v1/incidents/{id}/postmortem.md).
func cmdPostmortem(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("postmortem", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	db := fs.String("db", "", "bbolt database file (default: the config's database)")
	if code, ok := parseFlagsAndArgs(fs, args); !ok {
		return code
	}
	if *path == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: klaxon postmortem --config FILE [--db FILE] INCIDENT_ID")
		return 2
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(stderr, "klaxon postmortem: %q is not an incident ID\n", fs.Arg(0))
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
	st, eng, err := openOffline(cfg, fmt.Sprintf("while klaxon serve runs, use GET /api/v1/incidents/%d/postmortem.md", id))
	if err != nil {
		fmt.Fprintf(stderr, "klaxon postmortem: %v\n", err)
		return 1
	}
	defer st.Close()
	md, err := draftPostmortem(ctx, eng, id, postmortemOptions(cfg))
	if errors.Is(err, escalation.ErrNotFound) || escalation.ErrorCode(err) == escalation.CodeNotFound {
		fmt.Fprintf(stderr, "klaxon postmortem: incident #%d does not exist in %s\n", id, cfg.Database)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprint(stdout, md)
	return 0
}

func postmortemOptions(cfg *config.Config) postmortem.Options {
	names := map[string]string{}
	for _, s := range cfg.Services {
		if s.Public != nil && s.Public.Name != "" {
			names[s.Name] = s.Public.Name
		}
	}
	return postmortem.Options{Company: cfg.PublicName(), Services: names}
}

// drafter serves the API's postmortem drafts.
type drafter struct {
	eng  incidentReader
	opts postmortem.Options
}

func (d drafter) Draft(ctx context.Context, id int64) (string, error) {
	return draftPostmortem(ctx, d.eng, id, d.opts)
}
