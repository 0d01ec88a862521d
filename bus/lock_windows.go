//go:build windows

package bus

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock locks a byte range of f far past its content without waiting,
// so that the holder's pid stays readable. Windows releases it when the
// process ends.
func tryLock(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: 0x7fffffff}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errLocked
	}
	return err
}
