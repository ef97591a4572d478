package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
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
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cfg.Catalog(), Clock: escalation.SystemClock{}})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, eng, nil
}
