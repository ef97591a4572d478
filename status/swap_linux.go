package status

import (
	"errors"

	"golang.org/x/sys/unix"
)

// exchange swaps two directories atomically (renameat2 RENAME_EXCHANGE).
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) {
		return errors.ErrUnsupported // a filesystem without exchange
	}
	return err
}
