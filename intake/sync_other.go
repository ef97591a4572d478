//go:build !linux

package intake

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

// directFlags: direct writes are used on Linux only.
const directFlags = 0
