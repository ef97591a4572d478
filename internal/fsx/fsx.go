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
	pattern := "." + filepath.Base(path) + ".*"
	if old, err := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(pattern[:len(pattern)-1])+"*")); err == nil {
		for _, name := range old {
			if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
				_ = os.Remove(name)
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), pattern)
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

// globEscape quotes the characters filepath.Match treats as special.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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
