package fsx

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A nightly backup was killed twice, leaving its temp files; tonight's
// run writes the copy and clears what the killed runs left, but not the
// temp file of a run still writing.
func TestWriteAtomicClearsWhatKilledWritersLeft(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "klaxon[1].bak")
	left := []string{filepath.Join(dir, ".klaxon[1].bak.111"), filepath.Join(dir, ".klaxon[1].bak.222")}
	live := filepath.Join(dir, ".klaxon[1].bak.333")
	other := filepath.Join(dir, ".other.bak.444")
	for _, name := range append(left, live, other) {
		if err := os.WriteFile(name, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yesterday := time.Now().Add(-24 * time.Hour)
	for _, name := range append(left, other) {
		if err := os.Chtimes(name, yesterday, yesterday); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteAtomic(out, func(w io.Writer) error { _, err := io.WriteString(w, "copy"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "copy" {
		t.Fatalf("out: %q, %v", b, err)
	}
	for _, name := range left {
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Errorf("%s left by a killed writer is still there", filepath.Base(name))
		}
	}
	for _, name := range []string{live, other} {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(name), err)
		}
	}
}
