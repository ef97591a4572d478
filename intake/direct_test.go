package intake

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

// requireDirect skips the test unless dir's filesystem takes direct
// writes.
func requireDirect(t *testing.T, dir string) {
	t.Helper()
	if directFlags != 0 {
		f, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|directFlags, 0o600)
		if err == nil {
			f.Close()
			os.Remove(f.Name())
			return
		}
	}
	t.Skip("the temp directory's filesystem takes no direct writes")
}

// restart kills and starts Klaxon again, and returns the alerts it found
// accepted and not yet applied.
func (w *world) restart() int {
	w.t.Helper()
	w.crash()
	w.open()
	n, _ := w.j.Backlog()
	return n
}

// ingestVaried sends n deliveries whose records straddle the 4 KiB
// blocks of direct writes in every way: one well inside a block, one
// across a boundary, one of several blocks.
func (w *world) ingestVaried(n int) {
	w.t.Helper()
	for i := range n {
		w.ingest(firing(fmt.Sprint("db", i), strings.Repeat("disk full ", 1+(i*i*37)%900)))
	}
}

// The journal's bytes are the same whether appends go straight to the
// disk, each rewriting the last partial block in front of it, or
// through the page cache and fdatasync; and every record reads back.
func TestDirectAppendsWriteWhatBufferedOnesWrite(t *testing.T) {
	direct := newWorld(t, Options{})
	requireDirect(t, direct.dir)
	direct.open()
	if !direct.j.disk.direct {
		t.Fatal("the segment was not opened for direct writes")
	}
	direct.ingestVaried(40)
	direct.crash()

	buffered := newWorld(t, Options{})
	buffered.flush = fdatasync
	buffered.open()
	buffered.ingestVaried(40)
	buffered.crash()

	read := func(w *world) []byte {
		t.Helper()
		path := w.segments()[0]
		_, last, end, err := readSegment(path, 1, 0)
		if err != nil || last != 40 {
			t.Fatalf("%s: %d records (%v); want 40", path, last, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if rest := b[end:]; len(rest) > 0 && !bytes.Equal(rest, make([]byte, len(rest))) {
			t.Fatalf("%s: bytes after the records are not zeros", path)
		}
		return b[:end]
	}
	if !bytes.Equal(read(direct), read(buffered)) {
		t.Fatal("direct and buffered appends wrote different records")
	}
	if n := direct.restart(); n != 40 {
		t.Fatalf("backlog %d after the restart; want 40", n)
	}
}

// A filesystem that opens a file for direct writes and then refuses one
// (it wants a larger alignment, say) costs nothing: that delivery and
// every later one go through the page cache and fdatasync.
func TestARefusedDirectWriteFallsBackToFlushedWrites(t *testing.T) {
	w := newWorld(t, Options{SegmentBytes: 8 << 10})
	requireDirect(t, w.dir)
	refused := 0
	w.writeDirect = func(*os.File, []byte, int64) (int, error) {
		refused++
		return 0, syscall.EINVAL
	}
	w.open()
	w.ingestVaried(20) // several segments
	if refused != 1 || w.j.disk.direct || len(w.segments()) < 2 {
		t.Fatalf("%d direct writes refused, direct %v, %d segments; want one refusal, then buffered segments",
			refused, w.j.disk.direct, len(w.segments()))
	}
	if !strings.Contains(w.logs.String(), "refused a direct write") {
		t.Errorf("the fallback was not logged:\n%s", w.logs)
	}
	if n := w.restart(); n != 20 {
		t.Fatalf("backlog %d after the restart; want 20", n)
	}
}

// A filesystem without direct writes (tmpfs on older kernels, some network
// filesystems) refuses to open a file for them: the journal says so once
// and goes on through the page cache and fdatasync.
func TestAFilesystemWithoutDirectWritesGetsFlushedWrites(t *testing.T) {
	w := newWorld(t, Options{SegmentBytes: 8 << 10})
	opens := 0
	w.openDirect = func(string) (*os.File, error) {
		opens++
		return nil, &os.PathError{Op: "open", Path: "segment", Err: syscall.EINVAL}
	}
	w.open()
	w.ingestVaried(20) // several segments
	if opens != 1 || w.j.disk.direct || len(w.segments()) < 2 {
		t.Fatalf("%d direct opens tried, direct %v, %d segments; want one try, then buffered segments",
			opens, w.j.disk.direct, len(w.segments()))
	}
	if got := strings.Count(w.logs.String(), "does not take direct writes"); got != 1 {
		t.Errorf("%d notes of the fallback; want 1:\n%s", got, w.logs)
	}
	if n := w.restart(); n != 20 {
		t.Fatalf("backlog %d after the restart; want 20", n)
	}
}

// A direct write that fails halfway (a disk error) answers that delivery
// with an error and leaves nothing of it: the next delivery's record
// follows the last one acknowledged, and after a kill exactly the
// acknowledged ones replay.
func TestAFailedDirectWriteLeavesNoHalfRecord(t *testing.T) {
	w := newWorld(t, Options{})
	requireDirect(t, w.dir)
	fail := false
	w.writeDirect = func(f *os.File, b []byte, off int64) (int, error) {
		if fail {
			fail = false
			n, _ := f.WriteAt(b[:len(b)/2&^(directAlign-1)], off)
			return n, syscall.EIO
		}
		return f.WriteAt(b, off)
	}
	w.open()
	w.ingestVaried(5)
	fail = true
	lost := firing("lost", strings.Repeat("x", 9000)) // its write spans blocks: half lands
	if _, err := w.j.Ingest(t.Context(), "am", []escalation.Alert{lost}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("a failed write answered %v; want the disk's error", err)
	}
	w.ingest(firing("after", "disk full"))
	if n := w.restart(); n != 6 {
		t.Fatalf("backlog %d after the restart; want the 5 before and the one after", n)
	}
}
