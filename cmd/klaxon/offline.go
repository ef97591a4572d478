package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/intake"
	"github.com/klaxonhq/klaxon/store"
)

// openOffline opens the config's database for a command run while Klaxon
// is stopped, with an engine over it for reading. It never creates a
// database: a mistyped --db must not look like an empty history. busy says
// what to do instead while klaxon serve holds the file.
func openOffline(cfg *config.Config, busy string) (*store.DB, *escalation.Engine, error) {
	if _, err := os.Stat(cfg.Database); err != nil {
		return nil, nil, fmt.Errorf("no database at %s (check --db or the config's database): %w", cfg.Database, err)
	}
	db, err := store.Open(cfg.Database, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("%w; %s", err, busy)
	}
	if err != nil {
		return nil, nil, err
	}
	eng, err := offlineEngine(cfg, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, eng, nil
}

// offlineEngine is an engine over db, opened while Klaxon is stopped, with
// the intake journal applied first.
func offlineEngine(cfg *config.Config, db *store.DB) (*escalation.Engine, error) {
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cfg.Catalog(), Clock: escalation.SystemClock{}})
	if err != nil {
		return nil, err
	}
	return eng, applyJournal(cfg, eng)
}

// applyJournal applies what the intake journal holds and the database does
// not (Klaxon was killed before applying it), as the next klaxon serve
// would, so an offline command sees every alert that was acknowledged.
func applyJournal(cfg *config.Config, eng *escalation.Engine) error {
	dir := intakeDir(cfg.Database)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	ctx := context.Background()
	j, err := intake.Open(ctx, eng, intake.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer j.Close()
	if n, _ := j.Backlog(); n == 0 {
		return nil
	}
	defer j.Start()()
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := j.Wait(waitCtx); err != nil {
		return fmt.Errorf("apply the intake journal: %w", err)
	}
	return nil
}
