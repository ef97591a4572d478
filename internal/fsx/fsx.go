// Package fsx holds the file-system steps that make a write survive a
// crash: a file complete and synced before its name appears, and the
// directory entry itself synced.
package fsx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleTemp is how long a temp file of WriteAtomic's may go unwritten
// before it is taken for one a killed writer left.
const staleTemp = 10 * time.Minute

// WriteAtomic writes path through a temp file beside it, synced and then
// renamed into place, so path is either the old file or the whole new one.
// Temp files that killed writers left beside it are removed first, so a
// job killed again and again (a nightly backup) leaves no pile of them.
func WriteAtomic(path string, write func(io.Writer) error) error {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	removeStaleTemps(dir, prefix)
	tmp, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// removeStaleTemps removes the regular files in dir named prefix* that
// have gone unwritten longer than staleTemp. It is best effort: a file
// it cannot read or remove is left for the next write.
func removeStaleTemps(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// SyncDir makes the names created, renamed or removed in dir durable.
// Systems that cannot sync a directory (EINVAL) are taken at their word.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, os.ErrInvalid) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
