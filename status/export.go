package status

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klaxonhq/klaxon/internal/fsx"
)

// exportLinks are the exported files' places relative to index.html.
func exportLinks() links {
	return links{JSON: "status.json", Feed: "feed.atom", Summary: "api/v2/summary.json"}
}

// Export writes the status page into dir as static files: index.html,
// status.json, feed.atom and api/v2/summary.json, for any static host (or
// file://) to serve. The files are written into a new directory beside dir,
// which then takes dir's place in one atomic rename (an exchange: renameat2
// on Linux, renamex_np on macOS), so a syncer (rsync, aws s3 sync) reading
// dir sees the old export or the new one, never half of one; a failure
// leaves the old export as it was. dir's parent must exist; dir itself, if it
// exists, must be a directory (not a symlink) that Export owns: its contents
// are replaced.
func Export(dir string, snap Snapshot) error {
	return export(dir, snap, writeFile)
}

// export is Export with the file writer as a parameter, so tests can fail a
// write half-way through.
func export(dir string, snap Snapshot, write func(name string, data []byte) error) error {
	m, err := newModel(snap)
	if err != nil {
		return err
	}
	// Render everything before touching the disk.
	l := exportLinks()
	page, err := newRenderer().html(m, l)
	if err != nil {
		return err
	}
	js, err := m.json()
	if err != nil {
		return err
	}
	feed, err := m.atom(l.Feed)
	if err != nil {
		return err
	}
	summary, err := m.statuspage()
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"index.html", page},
		{l.JSON, js},
		{l.Feed, feed},
		{l.Summary, summary},
	}

	dir, err = filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("status export: %w", err)
	}
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("status export: %s is not a directory", dir)
	}
	parent := filepath.Dir(dir)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return fmt.Errorf("status export: %w", err)
	}
	defer os.RemoveAll(tmp) // the new export if it failed, the old one if it succeeded
	// MkdirTemp makes a private directory; the export is for a web server to read.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("status export: %w", err)
	}
	dirs := map[string]bool{tmp: true}
	for _, f := range files {
		name := filepath.Join(tmp, filepath.FromSlash(f.name))
		if d := filepath.Dir(name); !dirs[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("status export: %w", err)
			}
			dirs[d] = true
		}
		if err := write(name, f.data); err != nil {
			return fmt.Errorf("status export: writing %s: %w", f.name, err)
		}
	}
	// The files and their names must be on disk before the rename makes
	// them the export, or a crash could publish empty files.
	for d := range dirs {
		if err := fsx.SyncDir(d); err != nil {
			return fmt.Errorf("status export: %w", err)
		}
	}
	if err := swap(tmp, dir); err != nil {
		return fmt.Errorf("status export: replacing %s: %w", dir, err)
	}
	if err := fsx.SyncDir(parent); err != nil {
		return fmt.Errorf("status export: %w", err)
	}
	return nil
}

// swap puts the directory new in place of dir, and the old dir (if any) at
// new, in one atomic step where the system can.
func swap(new, dir string) error {
	err := exchange(new, dir)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return os.Rename(new, dir) // the first export
	case errors.Is(err, errors.ErrUnsupported):
		return swapByRenames(new, dir)
	}
	return err
}

// swapByRenames swaps without an atomic exchange: the old export moves aside
// first, so a syncer may find dir missing for a moment, but never half-written.
func swapByRenames(new, dir string) error {
	old := new + ".old"
	if err := os.Rename(dir, old); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(new, dir) // the first export
	} else if err != nil {
		return err
	}
	if err := os.Rename(new, dir); err != nil {
		return errors.Join(err, os.Rename(old, dir))
	}
	return os.Rename(old, new)
}

// writeFile writes a file and flushes it to disk.
func writeFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
