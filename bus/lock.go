package bus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// LockFile is the file in a store directory that the process using the
// directory holds locked.
const LockFile = "taskrouter.lock"

// errLocked is what the platform's tryLock returns when another process
// holds the lock.
var errLocked = errors.New("locked by another process")

// StoreLockedError is returned by Start when another process holds the
// store directory: two servers writing one JetStream store overwrite each
// other's messages, and nats-server does not check for it.
type StoreLockedError struct {
	// Dir is the store directory.
	Dir string
	// PID is the holder's process id, 0 when it could not be read.
	PID int
}

// Error implements error.
func (e *StoreLockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("the JetStream store directory %s is in use by %s, which holds %s", e.Dir, holder, filepath.Join(e.Dir, LockFile))
}

// storeLock is a held lock on a store directory.
type storeLock struct{ f *os.File }

// lockStore takes the lock on dir, creating dir when it does not exist,
// and writes this process's id into the lock file for whoever finds it
// locked. The lock lasts until release, or until the process ends.
func lockStore(dir string) (*storeLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the JetStream store directory: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the store lock: %w", err)
	}
	if err := tryLock(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, &StoreLockedError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		_ = f.Close() // closing releases the lock
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &storeLock{f: f}, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID reads the holder's id from a lock file; 0 when there is none.
func readPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || pid < 1 {
		return 0
	}
	return pid
}

// release gives the lock up. The file stays: removing it would let a
// process that opened it just before lock a file no one else sees.
func (l *storeLock) release() {
	if l != nil {
		_ = l.f.Close()
	}
}
