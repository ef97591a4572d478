//go:build !linux

package intake

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
