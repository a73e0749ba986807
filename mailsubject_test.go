package errlog

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A digest's subject is the group's first subject with "Re: ", even when
// the latest occurrence was logged on another line: Gmail threads by
// subject. Control characters never reach a Subject.
func TestMailDigestSubjectThreads(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64
	clock.Store(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC).UnixNano())
	env := testEnv(&errRecorder{})
	env.Clock = nowClock(func() time.Time { return time.Unix(0, clock.Load()) })
	s := newTestSink(t, &MailOptions{Dir: dir, To: []string{"ops@example.com"}}, env, fast, nil, nil)

	first := mailEvent("user 17 not found")
	s.Deliver(first)
	flushSink(t, s)
	again := mailEvent("user 18 not found")
	again.Exception[1].Stacktrace.Frames[1].Lineno = 124 // same function, another line
	s.Deliver(again)
	clock.Add(int64(DefaultMailWindow + time.Second))
	flushSink(t, s)

	ctl := mailEvent("bad input \x00\x1b[31mred\x07 \u0085end")
	ctl.Fingerprint = []string{"ctl"}
	s.Deliver(ctl)
	flushSink(t, s)

	names, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	sort.Strings(names)
	require.Len(t, names, 3)
	var subjects []string
	for _, n := range names {
		data, err := os.ReadFile(n)
		require.NoError(t, err)
		subjects = append(subjects, parseMail(t, data).Subject)
	}
	var firstSubj, digestSubj, ctlSubj string
	for _, subj := range subjects {
		switch {
		case strings.HasPrefix(subj, "Re: "):
			digestSubj = subj
		case strings.Contains(subj, "bad input"):
			ctlSubj = subj
		default:
			firstSubj = subj
		}
	}
	assert.Contains(t, firstSubj, "user 17 not found")
	assert.Contains(t, firstSubj, "(config.go:42)")
	assert.Equal(t, "Re: "+firstSubj, digestSubj)
	assert.Contains(t, ctlSubj, "bad input [31mred end")
	for _, r := range ctlSubj {
		assert.False(t, unicode.IsControl(r), "control character %U in %q", r, ctlSubj)
	}
}

// Mail throttling groups with event.Parameterize: a storm of "user N not
// found" with distinct ids is one mail and one digest, not one mail per id.
func TestMailThrottleParameterized(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64
	clock.Store(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC).UnixNano())
	env := testEnv(&errRecorder{})
	env.Clock = nowClock(func() time.Time { return time.Unix(0, clock.Load()) })
	s := newTestSink(t, &MailOptions{Dir: dir, To: []string{"ops@example.com"}}, env, fast, nil, nil)
	for i := 0; i < 500; i++ {
		ev := mailEvent(fmt.Sprintf("user %d not found", 1000+i))
		ev.Exception = nil
		s.Deliver(ev)
	}
	clock.Add(int64(DefaultMailWindow + time.Second))
	flushSink(t, s)
	names, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.Len(t, names, 2, "one first mail and one digest")
}
