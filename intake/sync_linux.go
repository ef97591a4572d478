package intake

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data, and its size when it grew, without the
// rest of its metadata.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// directFlags open a segment for direct, synchronous writes (direct.go).
const directFlags = syscall.O_DIRECT | syscall.O_DSYNC
