// Command klaxon is the Klaxon alerting and escalation service: it takes
// alert webhooks, deduplicates them into incidents, and pages the people on
// call until someone acknowledges.
//
//	klaxon serve --config FILE [--db FILE] [--listen ADDR]
//	klaxon check --config FILE
//	klaxon oncall --config FILE [--schedule S] [--at T] [--days N]
//	klaxon simulate --config FILE --service S [--priority P] [--at T] [--for D]
//	klaxon postmortem --config FILE [--db FILE] ID
//	klaxon backup --config FILE --out FILE [--url URL] [--token TOKEN]
//	klaxon status export --config FILE --out DIR
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	_ "time/tzdata" // people's time zones must load in minimal containers too

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
)

const usage = `usage:
  klaxon serve --config FILE [--db FILE] [--listen ADDR]   run the service
  klaxon check --config FILE                              validate a config and exit
  klaxon oncall --config FILE [--schedule S] [--at T] [--days N]
                                                          print who is on call, in every timezone
  klaxon simulate --config FILE --service S [--priority P] [--at T] [--for D]
                                                          who would be paged, when, if nobody acknowledges
  klaxon postmortem --config FILE [--db FILE] ID           a Markdown postmortem draft of an incident
  klaxon backup --config FILE --out FILE [--url U] [--token T]
                                                          a consistent copy of the database, while serving too
  klaxon status export --config FILE --out DIR            the public status page as static files
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run is main with its dependencies passed in, so tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr, lookupEnv)
	case "check":
		return cmdCheck(args[1:], time.Now(), stdout, stderr, lookupEnv)
	case "oncall":
		return cmdOncall(args[1:], time.Now(), stdout, stderr, lookupEnv)
	case "simulate":
		return cmdSimulate(ctx, args[1:], time.Now(), stdout, stderr, lookupEnv)
	case "postmortem":
		return cmdPostmortem(ctx, args[1:], stdout, stderr, lookupEnv)
	case "backup":
		return cmdBackup(ctx, args[1:], stdout, stderr, lookupEnv)
	case "status":
		return cmdStatus(ctx, args[1:], stdout, stderr, lookupEnv)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "klaxon: unknown command %q\n%s", args[0], usage)
	return 2
}

// parseFlags parses a subcommand's flags: --help is an answer (exit 0), a
// bad flag or a stray argument a usage error (2, said on the flag set's
// output).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if code, ok := parseFlagsAndArgs(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "klaxon %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

// parseFlagsAndArgs is parseFlags for a subcommand that takes arguments
// after its flags (fs.Args), which it checks itself.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func cmdCheck(args []string, now time.Time, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "klaxon check: --config FILE is required")
		return 2
	}
	cfg, err := adapterChecks().Load(*path, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// What serve would fail on here: the database's directory. Only a
	// warning, since the config may be checked on another machine than
	// the one that serves it (or served with --db).
	if fi, err := os.Stat(filepath.Dir(cfg.Database)); err != nil || !fi.IsDir() {
		fmt.Fprintf(stdout, "warning: database: the directory %s does not exist here; serve could not create %s\n", filepath.Dir(cfg.Database), cfg.Database)
	}
	cat := cfg.Catalog()
	// A backstop: build the adapters as serve would. Load's checks judged
	// each entry, so this fails only if an adapter refuses what they passed.
	failed := false
	if _, err := smsGateways(cfg, newLogger(io.Discard, "")); err != nil {
		fmt.Fprintln(stderr, err)
		failed = true
	}
	if _, err := genericSpecs(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		failed = true
	}
	if _, err := newWatch(cfg, escalation.SystemClock{}, newLogger(io.Discard, "")); err != nil {
		fmt.Fprintln(stderr, err)
		failed = true
	}
	if failed {
		return 1
	}
	fmt.Fprintf(stdout, "%s is valid: %d people, %d policies, %d services, %d integrations; pager: %s\n",
		*path, len(cat.People), len(cat.Policies), len(cat.Services), len(cat.Integrations), providerNames(cfg))
	for _, w := range cat.Silences {
		if len(w.Matchers) == 0 {
			fmt.Fprintf(stdout, "note: maintenance window %q holds every page of service %s at %q for %s\n",
				w.Comment, w.Service, w.CronSpec, w.Duration)
		}
	}
	// Schedules are linted over the weeks ahead: a gap there is a page
	// that reaches nobody.
	const ahead = 8 * 7 * 24 * time.Hour
	for _, name := range slices.Sorted(maps.Keys(cat.Schedules)) {
		s := cat.Schedules[name]
		warnings := oncall.Lint(s, now, now.Add(ahead))
		const shown = 10
		for _, w := range warnings[:min(len(warnings), shown)] {
			fmt.Fprintf(stdout, "warning: schedule %s: %s\n", name, w.Message)
		}
		if len(warnings) > shown {
			fmt.Fprintf(stdout, "warning: schedule %s: and %d more in the next 8 weeks\n", name, len(warnings)-shown)
		}
	}
	return 0
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	db := fs.String("db", "", "bbolt database file (default: the config's database, ./klaxon.db)")
	listen := fs.String("listen", "", "HTTP listen address (default: the config's listen, 127.0.0.1:8080)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "klaxon serve: --config FILE is required (try config.example.yaml)")
		return 2
	}
	cfg, err := adapterChecks().Load(*path, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *listen != "" {
		if err := cfg.SetListen(*listen); err != nil {
			fmt.Fprintf(stderr, "klaxon serve: --listen: %v\n", err)
			return 2
		}
	}
	if *db != "" {
		cfg.Database = *db
	}
	log := newLogger(stderr, cfg.LogLevel)
	if err := serve(ctx, cfg, log); err != nil {
		if errors.Is(err, context.Canceled) {
			return 0
		}
		log.Error("klaxon stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
