// Package store is errlogd's storage: projects, groups (issues) and their
// events, with the counts a dashboard draws. One Store interface has two
// implementations, store/sqlite (the default, one file, no cgo) and
// store/postgres (several errlogd processes on one database); the suite in
// store/storetest runs against both.
//
// # Writing
//
// Events reach a store through Submit (errlogd's ingest: it waits until
// the batch holding the event has committed) or Deliver (errlog.EventSink,
// for an application that records its own errors in-process). Both go
// through one bounded queue and one writer goroutine that commits batches
// (group commit), so that SQLite's single writer is never contended and a
// burst costs one transaction per batch, not per event. Prepare does the
// per-event work (grouping, compression) on the caller's goroutine.
//
// # Reading
//
// A dashboard needs no SQL: ListGroups (filters, sort, cursor), Group,
// GroupEvents, Event, HourlyCounts and MinuteCounts (histograms and
// sparklines), GroupSeen (first/last seen per environment and release),
// GroupUsers (users affected), SetStatus and DeleteGroup.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/errlog/errlog"
)

// Status is a group's triage state.
type Status string

// The statuses of a group.
const (
	StatusUnresolved Status = "unresolved"
	StatusResolved   Status = "resolved"
	StatusIgnored    Status = "ignored"
)

// Valid reports whether s is one of the three statuses.
func (s Status) Valid() bool {
	return s == StatusUnresolved || s == StatusResolved || s == StatusIgnored
}

// Errors a Store returns; test with errors.Is.
var (
	// ErrNotFound: no project, group or event with that id or key.
	ErrNotFound = errors.New("errlog: store: not found")
	// ErrQueueFull: the writer is behind; the caller should answer 429.
	ErrQueueFull = errors.New("errlog: store: write queue full")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("errlog: store: closed")
	// ErrLost: the database file was deleted or replaced while open;
	// nothing written since could be read by anyone, so the store
	// refuses writes (the caller should answer 503) until the file is
	// back, and Health fails.
	ErrLost = errors.New("errlog: store: the database file was deleted or replaced")
)

// Project is a source of events with its own DSN key.
type Project struct {
	ID   int64
	Name string
	// PublicKey is the DSN's key: 32 hex digits.
	PublicKey string
	// Disabled projects are refused with 403.
	Disabled bool
	// RateLimit is the most events per minute ingest accepts; 0 is no limit.
	RateLimit int
	// InApp lists module path prefixes whose frames are in-app whatever
	// the SDK said ("github.com/acme/").
	InApp   []string
	Created time.Time
}

// Group is one issue: the events that share a grouping key.
type Group struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Key       string `json:"key"`
	Title     string `json:"title"`
	Culprit   string `json:"culprit"`
	Level     string `json:"level"`
	Count     int64  `json:"count"`
	// Users counts the distinct users of the group's events (by user
	// id, else email, username or IP address); events without a user
	// add none.
	Users     int64     `json:"users"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Status    Status    `json:"status"`
	// Regression is set when a resolved group occurred again (it is then
	// unresolved); any status change clears it.
	Regression bool `json:"regression"`
	// LastEventID is the store id of the newest event stored (0 if
	// retention removed them all).
	LastEventID int64 `json:"last_event_id"`
}

// EventRow describes a stored event without its payload.
type EventRow struct {
	// ID is the store's id, increasing with arrival.
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	GroupID     int64     `json:"group_id"`
	EventID     string    `json:"event_id"`
	Timestamp   time.Time `json:"timestamp"`
	Received    time.Time `json:"received"`
	Level       string    `json:"level"`
	Title       string    `json:"title"`
	Environment string    `json:"environment,omitempty"`
	Release     string    `json:"release,omitempty"`
	// TraceID is the trace the event happened in (Incoming.TraceID).
	TraceID string `json:"trace_id,omitempty"`
	// Size is the event JSON's size; Stored the compressed payload's.
	Size   int `json:"size"`
	Stored int `json:"stored"`
}

// StoredEvent is an event row with its JSON as received.
type StoredEvent struct {
	EventRow
	JSON []byte `json:"-"`
}

// Sort orders ListGroups, newest or largest first.
type Sort string

// The group orders.
const (
	SortLastSeen  Sort = "last_seen"
	SortFirstSeen Sort = "first_seen"
	SortCount     Sort = "count"
)

// GroupQuery selects groups. The zero value lists every group, last seen
// first, 50 per page.
type GroupQuery struct {
	ProjectID   int64  // 0: all projects
	Status      Status // "": any
	Level       string
	Environment string // groups seen in this environment
	Release     string // groups seen in this release
	// Since and Until keep groups seen in [Since, Until]: last seen at or
	// after Since, first seen at or before Until. Zero: unbounded.
	Since, Until time.Time
	// Text is searched, case-insensitively, in title and culprit.
	Text string
	// TraceID keeps the groups with an event of that trace (32 hex
	// digits, any case; see NormalizeTraceID). A malformed one matches
	// nothing.
	TraceID string
	Sort    Sort // default SortLastSeen
	// Cursor is GroupPage.Next of the previous page; "" is the first.
	Cursor string
	Limit  int // default 50, at most 500
}

// GroupPage is one page of groups; Next is "" on the last page.
type GroupPage struct {
	Groups []Group `json:"groups"`
	Next   string  `json:"next,omitempty"`
}

// EventQuery pages through a group's events by store id: newest first, or
// with After set, the ones just after After, oldest first (for "newer"
// navigation).
type EventQuery struct {
	Before int64 // only ids < Before; 0: from the newest
	After  int64 // only ids > After, ascending; overrides Before
	Limit  int   // default 50, at most 500
}

// Count is the number of events in one bucket starting at Time.
type Count struct {
	Time  time.Time `json:"time"`
	Count int64     `json:"count"`
}

// Seen is when a group was first and last seen in one environment or
// release.
type Seen struct {
	Kind      string    `json:"kind"` // "environment" or "release"
	Value     string    `json:"value"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Facets are the distinct environments and releases of a project's
// groups, for filter menus.
type Facets struct {
	Environments []string `json:"environments"`
	Releases     []string `json:"releases"`
}

// Feedback is what a user wrote about an error: Sentry's user report
// (the crash-report dialog) or feedback item (captureFeedback).
type Feedback struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	EventID   string    `json:"event_id"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	Comments  string    `json:"comments"`
	URL       string    `json:"url,omitempty"`
	Received  time.Time `json:"received"`
}

// Retention says what Retain deletes. Zero fields keep everything.
type Retention struct {
	// MaxAge: events received longer ago are deleted (group counts stay).
	MaxAge time.Duration
	// MaxPerGroup: only the newest N events of each group are kept.
	MaxPerGroup int
	// BatchSize bounds each delete transaction, so that ingest is never
	// stalled for long. Default 250.
	BatchSize int
	// Share is the most of the time retention spends deleting while it
	// runs: after each batch it waits (1-Share)/Share times as long as
	// the batch took, so that ingest's commits are not queued behind
	// batch after batch (on SQLite, the one writer connection). Default
	// 0.25; 1 or more: no wait.
	Share float64
}

// RetentionResult counts what Retain removed.
type RetentionResult struct {
	Events  int64
	Minutes int64 // per-minute count rows older than 24 h
	Hours   int64 // per-hour count rows older than 90 days
	// Batches is the number of event delete transactions, Busy the time
	// they took together (the waits between them not included).
	Batches int
	Busy    time.Duration
}

// Stats sums up a store.
type Stats struct {
	Projects int64 `json:"projects"`
	Groups   int64 `json:"groups"`
	Events   int64 `json:"events"`
	// EventBytes is the events' JSON size; StoredBytes their compressed
	// payloads'. DiskBytes is the database's size on disk, when known.
	EventBytes  int64 `json:"event_bytes"`
	StoredBytes int64 `json:"stored_bytes"`
	DiskBytes   int64 `json:"disk_bytes"`
	// Dropped counts events Deliver dropped because the queue was full,
	// or that a Close past its deadline left unwritten.
	Dropped int64 `json:"dropped"`
}

// MaxStatusIDs is how many groups the API and the dashboard change at
// once: SetStatus binds one SQL variable per id, and SQLite takes at most
// 32,766 in a statement.
const MaxStatusIDs = 500

// Store is errlogd's storage. Its methods are safe for concurrent use.
type Store interface {
	// EventSink lets an application record its own errors:
	// errlog.Options{Sinks: []errlog.EventSink{st}}. Deliver stores into
	// the store's default project (the first), never blocks, and counts
	// what it drops. Close flushes and closes the database.
	errlog.EventSink

	// Submit queues one prepared event and waits until the batch holding
	// it has committed. A duplicate (project, event id) is accepted and
	// ignored. ErrQueueFull when the writer is behind.
	Submit(ctx context.Context, in *Incoming) error

	CreateProject(ctx context.Context, name string) (*Project, error)
	Projects(ctx context.Context) ([]Project, error)
	Project(ctx context.Context, id int64) (*Project, error)
	ProjectByKey(ctx context.Context, publicKey string) (*Project, error)
	// UpdateProject saves Name, Disabled, RateLimit and InApp.
	UpdateProject(ctx context.Context, p *Project) error

	ListGroups(ctx context.Context, q GroupQuery) (*GroupPage, error)
	Group(ctx context.Context, id int64) (*Group, error)
	GroupEvents(ctx context.Context, groupID int64, q EventQuery) ([]EventRow, error)
	// Event returns one event by store id, with its JSON.
	Event(ctx context.Context, id int64) (*StoredEvent, error)
	// EventByEventID finds an event by its 32-hex event_id; projectID 0
	// searches every project.
	EventByEventID(ctx context.Context, projectID int64, eventID string) (*StoredEvent, error)
	// SetStatus sets the status of the groups and clears Regression.
	// It binds one SQL variable per id: callers taking ids from a
	// client take at most MaxStatusIDs.
	SetStatus(ctx context.Context, ids []int64, status Status) error
	// DeleteGroup deletes a group, its events and counts.
	DeleteGroup(ctx context.Context, id int64) error
	// HourlyCounts returns, per group, the non-empty hours in [from, to)
	// (kept 90 days), oldest first.
	HourlyCounts(ctx context.Context, groupIDs []int64, from, to time.Time) (map[int64][]Count, error)
	// MinuteCounts is the same per minute (kept 24 hours).
	MinuteCounts(ctx context.Context, groupIDs []int64, from, to time.Time) (map[int64][]Count, error)
	// GroupSeen lists the group's environments and releases.
	GroupSeen(ctx context.Context, groupID int64) ([]Seen, error)
	// GroupUsers counts, per group, the distinct users its events named
	// (user id, else email, username or IP address); groups whose events
	// named none are absent.
	GroupUsers(ctx context.Context, groupIDs []int64) (map[int64]int64, error)
	// Facets lists a project's environments and releases (0: all).
	Facets(ctx context.Context, projectID int64) (*Facets, error)

	// AddFeedback stores a user's feedback on an event (its group is
	// found by the event id, now or when read).
	AddFeedback(ctx context.Context, f *Feedback) error
	// GroupFeedback lists the feedback on a group's events, newest first,
	// at most limit (default 50).
	GroupFeedback(ctx context.Context, groupID int64, limit int) ([]Feedback, error)
	// GroupFeedbackCount counts the feedback GroupFeedback lists without
	// a limit.
	GroupFeedbackCount(ctx context.Context, groupID int64) (int64, error)

	// Retain deletes old events in batches; see Retention.
	Retain(ctx context.Context, r Retention) (*RetentionResult, error)
	Stats(ctx context.Context) (*Stats, error)
	// Health is nil when the store can take writes; else why not
	// (ErrClosed, ErrLost, the database unreachable).
	Health(ctx context.Context) error
}

// ErrRejected: the event could not be stored, though other events could
// at the same time (a value the database refuses): the caller should
// answer 400, as retrying will not help.
var ErrRejected = errors.New("errlog: store: event refused by the database")
