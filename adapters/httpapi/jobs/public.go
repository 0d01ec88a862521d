package jobs

import "time"

// Public is the job as its creator sees it, over the API and in signed
// callbacks alike: without the owner (a hash of the creator's API key)
// and the routers' own bookkeeping (instance, lease, lease_expires).
// Takeovers stays: it says the job was run again from the start.
func (j Job) Public() Job {
	j.Owner, j.Instance, j.Lease, j.LeaseExpires = "", "", "", time.Time{}
	return j
}
