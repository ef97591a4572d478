package intake

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// disk is how appends reach the disk. Tests stand in slower or failing
// parts.
type disk struct {
	// flush makes a buffered write durable (fdatasync).
	flush func(*os.File) error
	// direct opens segments for direct, synchronous writes, and while it
	// holds the open segment takes them; it is cleared for good when the
	// filesystem refuses one (openDirect, appendAt).
	direct bool
	// openDirect opens a segment for them; writeDirect writes to one.
	openDirect  func(path string) (*os.File, error)
	writeDirect func(f *os.File, b []byte, off int64) (int, error)
}

// systemDisk is the disk as the operating system gives it.
func systemDisk() disk {
	return disk{flush: fdatasync, direct: directFlags != 0,
		openDirect:  func(path string) (*os.File, error) { return os.OpenFile(path, os.O_WRONLY|directFlags, 0) },
		writeDirect: (*os.File).WriteAt}
}

// directAlign is the offset and length alignment of a direct write, and
// of its buffer: a page, a multiple of the logical block size of common
// disks (512 bytes or 4 KiB).
const directAlign = 4096

// A segment opened with directFlags takes each append as one system call
// that returns once the bytes are on the disk: no copy into the page
// cache to be written back, and no second system call to flush it, after
// which the writer would queue once more for a Go processor. Measured
// alone on a virtual machine, an append took about a fifth less time and
// CPU (BENCHMARKS.md). Direct writes must start and end on directAlign,
// so the last partial block written (tail) is written again, unchanged,
// in front of the next append: its acknowledged bytes are the same in
// the old and the new block, so a torn write can only lose the new
// records, which were never answered.

// openDirect reopens the segment at path for direct writes, when the disk
// allows them; otherwise appends go on through f and its flush.
func (j *Journal) openDirect(f *os.File, path string) *os.File {
	j.tail = j.tail[:0]
	if !j.disk.direct {
		return f
	}
	d, err := j.disk.openDirect(path)
	if err != nil {
		// EINVAL: the filesystem has no direct I/O (tmpfs, some network
		// filesystems).
		j.disk.direct = false
		j.log.Info("intake: the journal's filesystem does not take direct writes; using fdatasync", "err", err)
		return f
	}
	j.closeSegment(f)
	return d
}

// appendAt writes buf at the segment's end, durably.
func (j *Journal) appendAt(buf []byte) error {
	if j.disk.direct {
		err := j.appendDirect(buf)
		if !errors.Is(err, syscall.EINVAL) {
			return err
		}
		// The filesystem opened the file for direct writes and refused
		// one (an alignment it wants larger, say): nothing was written.
		j.log.Warn("intake: the journal's filesystem refused a direct write; using fdatasync", "err", err)
		if err := j.reopenBuffered(); err != nil {
			return err
		}
	}
	if _, err := j.f.WriteAt(buf, j.size); err != nil {
		return err
	}
	return j.disk.flush(j.f)
}

// appendDirect writes the tail and buf from the tail's aligned offset,
// padded with zeros to an aligned length.
func (j *Journal) appendDirect(buf []byte) error {
	start := j.size - int64(len(j.tail))
	n := len(j.tail) + len(buf)
	padded := (n + directAlign - 1) &^ (directAlign - 1)
	a := j.aligned(padded)
	copy(a, j.tail)
	copy(a[len(j.tail):], buf)
	clear(a[n:padded])
	if _, err := j.disk.writeDirect(j.f, a[:padded], start); err != nil {
		return err
	}
	keep := int((j.size + int64(len(buf))) % directAlign)
	j.tail = append(j.tail[:0], a[n-keep:n]...)
	return nil
}

// aligned returns a buffer of n bytes whose address is a multiple of
// directAlign, kept for the next append unless it is large.
func (j *Journal) aligned(n int) []byte {
	if cap(j.abuf) >= n {
		return j.abuf[:n]
	}
	raw := make([]byte, n+directAlign)
	off := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%directAlign)) % directAlign
	a := raw[off : off+n : off+n]
	if n <= keepBuf {
		j.abuf = a
	}
	return a
}

// reopenBuffered goes on with the open segment through the page cache.
func (j *Journal) reopenBuffered() error {
	f, err := os.OpenFile(j.f.Name(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	j.closeSegment(j.f)
	j.f, j.tail = f, j.tail[:0]
	j.disk.direct = false
	return nil
}
