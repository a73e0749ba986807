package store

import "time"

// Outcome is what one committed batch did to one group: the facts alert
// rules are evaluated on, inside the commit's transaction.
type Outcome struct {
	ProjectID int64
	GroupID   int64
	// New: the group was created by this batch. Regression: it was
	// resolved and is unresolved again.
	New, Regression bool
	// Count is the events of this batch in the group; Total the group's
	// count after it.
	Count, Total int64
	// LastEventID is the store id of the newest event of the batch.
	LastEventID int64
	// The newest event's fields, for rule filters.
	Title, Culprit, Level string
	Environment, Release  string
	Tags                  map[string]string
	// Time is the newest event's timestamp.
	Time time.Time
}
