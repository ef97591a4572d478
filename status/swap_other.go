//go:build !linux && !darwin

package status

import "errors"

// exchange has no atomic form on this system.
func exchange(a, b string) error { return errors.ErrUnsupported }
