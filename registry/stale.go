package registry

import (
	"fmt"
	"time"
)

// StaleError comes with a list that Lister.Models could not refresh: the
// list is the last snapshot, as of Since, and still fit to route from.
// Err carries the cause and its task.Code (CodeUnavailable for a Redis
// outage).
type StaleError struct {
	Since time.Time
	Err   error
}

// Error implements error.
func (e *StaleError) Error() string {
	return fmt.Sprintf("listing models: showing the snapshot of %s: %v", e.Since.Format(time.RFC3339), e.Err)
}

// Unwrap returns the cause.
func (e *StaleError) Unwrap() error { return e.Err }
