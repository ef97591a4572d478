package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/fsx"
	"github.com/klaxonhq/klaxon/store"
)

// cmdBackup writes a consistent copy of the database to --out. With Klaxon
// stopped it copies the file itself; while klaxon serve holds the database
// it asks the server's API for an online copy (bbolt's read transaction
// snapshot), so backups never stop paging.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	out := fs.String("out", "", "file to write the copy to")
	url := fs.String("url", "", "the running server's base URL (default: http://{listen})")
	token := fs.String("token", "", "API token (default: the config's first API token)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *path == "" || *out == "" {
		fmt.Fprintln(stderr, "usage: klaxon backup --config FILE --out FILE [--url URL] [--token TOKEN]")
		return 2
	}
	cfg, err := config.Load(*path, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		fmt.Fprintf(stderr, "klaxon backup: no database at %s (check the config's database): %v\n", cfg.Database, err)
		return 1
	}
	write := func(w io.Writer) (int64, string, error) {
		db, err := store.Open(cfg.Database, store.Options{Timeout: 200 * time.Millisecond})
		if err == nil {
			defer db.Close()
			// Klaxon is stopped: the copy includes what a killed Klaxon
			// left in its intake journal, as the next start would apply it.
			if _, err := offlineEngine(cfg, db); err != nil {
				return 0, "", err
			}
			n, err := db.Backup(w)
			return n, "the database file", err
		}
		if !errors.Is(err, store.ErrLocked) {
			return 0, "", err
		}
		n, err := fetchBackup(ctx, cfg, *url, *token, w)
		return n, "the running server", err
	}
	var n int64
	var from string
	err = fsx.WriteAtomic(*out, func(w io.Writer) (err error) {
		n, from, err = write(w)
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "klaxon backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes) from %s\n", *out, n, from)
	return 0
}

// fetchBackup streams GET /api/v1/backup from a running server.
func fetchBackup(ctx context.Context, cfg *config.Config, base, token string, w io.Writer) (int64, error) {
	if base == "" {
		base = "http://" + cfg.Listen
	}
	if token == "" && len(cfg.API.Tokens) > 0 {
		token = cfg.API.Tokens[0].Token
	}
	if token == "" {
		return 0, errors.New("the database is in use and no API token is configured to ask the server for a copy")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/api/v1/backup", nil)
	if err != nil {
		return 0, fmt.Errorf("backup URL: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("asking the running server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("the running server answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("copying from the server: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("copy cut short: %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}
