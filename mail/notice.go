package mail

import (
	"time"

	"github.com/errlog/errlog/event"
)

// NoticeKind says why a Notice was sent.
type NoticeKind string

// The kinds of notice.
const (
	// NoticeFirst is the first occurrence of a group, sent at once.
	NoticeFirst NoticeKind = "first"
	// NoticeDigest counts the repeats of a group over a window.
	NoticeDigest NoticeKind = "digest"
	// NoticeSummary counts the errors the hourly cap held back.
	NoticeSummary NoticeKind = "summary"
)

// A Notice is one error mail or notification after throttling. Notifiers
// find the Notice of each call in its context (errlog.NoticeFromContext), or are
// given it (NoticeNotifier).
type Notice struct {
	// Kind says why the notice was sent: a first occurrence, a digest of
	// repeats, or a summary of what the hourly cap held back.
	Kind NoticeKind `json:"kind"`
	// GroupKey is the group's event.GroupKey ("" for a summary).
	GroupKey string `json:"group,omitempty"`
	// Event is the occurrence the notice is about: the first one, or the
	// latest one counted into a digest. nil for a summary.
	Event *event.Event `json:"event,omitempty"`
	// Count is the number of occurrences the notice stands for: 1 for a
	// first occurrence, the repeats for a digest, the errors held back
	// for a summary.
	Count int `json:"count"`
	// Since and Last bound the occurrences counted: a digest counts those
	// after Since (when the group was last notified) up to Last. For a
	// first occurrence both are its time.
	Since time.Time `json:"since"`
	Last  time.Time `json:"last"`
	// Total counts the group's occurrences since this process first saw
	// it, this notice's included (0 for a summary).
	Total int `json:"total,omitempty"`
	// Groups lists, for a summary, the groups held back, most frequent
	// first; OtherGroups (at least) and OtherCount count the groups left
	// out of the list and their errors.
	Groups      []NoticeGroup `json:"groups,omitempty"`
	OtherGroups int           `json:"other_groups,omitempty"`
	OtherCount  int           `json:"other_count,omitempty"`
	// Dropped counts the notices lost to a full delivery queue since the
	// previous notice of the same sink.
	Dropped int `json:"dropped,omitempty"`
}

// NoticeGroup is one group of a summary.
type NoticeGroup struct {
	// Key is the group's event.GroupKey.
	Key string `json:"group"`
	// Title is the title of the group's latest event.
	Title string `json:"title"`
	// Count is the group's occurrences held back.
	Count int `json:"count"`
	// Last is when the latest of them happened.
	Last time.Time `json:"last"`
}
