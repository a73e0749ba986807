package mail

import (
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/errlog/errlog/event"
)

// subjectMemo remembers the subject of each group's first mail, so that
// its digests and later mails say "Re: " and the same words: mail clients
// (Gmail) thread by subject, and the culprit line of a later occurrence
// may differ from the first one's.
type subjectMemo struct {
	mu sync.Mutex
	m  map[string]string
}

// first returns the subject the group's first mail had, remembering subj
// as that when the group is new. Memory is bounded as the throttle's is.
func (s *subjectMemo) first(group, subj string) string {
	if group == "" {
		return subj
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.m[group]; ok {
		return prev
	}
	if s.m == nil || len(s.m) >= maxThrottleGroups {
		s.m = make(map[string]string)
	}
	s.m[group] = subj
	return subj
}

// headerText makes s fit for a mail header: control characters (NUL,
// ESC, CR, LF, …) become spaces and runs of white space one space.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// maxSubjectMessage bounds the message part of a subject, in runes: mail
// clients show about this much, and long subjects get folded badly.
const maxSubjectMessage = 100

// subject is "<prefix><LEVEL>: <message> (<file>:<line>)", the message cut
// to maxSubjectMessage runes.
func (c *Composer) subject(ev *event.Event, level string) string {
	msg := ev.Message()
	if n := len(ev.Exception); n > 0 {
		if val := ev.Exception[n-1].Value; val != "" && !strings.Contains(msg, val) {
			if msg == "" {
				msg = val
			} else {
				msg += ": " + val
			}
		}
	}
	msg = headerText(msg) // no CR, LF, NUL or other control character in a header
	if r := []rune(msg); len(r) > maxSubjectMessage {
		msg = string(r[:maxSubjectMessage-1]) + "…"
	}
	subj := c.prefix() + level + ": " + msg
	if loc := Location(ev); loc != "" {
		subj += " (" + loc + ")"
	}
	return headerText(subj)
}

// maxLocationFile bounds the file name of a Location, in runes.
const maxLocationFile = 60

// Location is "file.go:42" of ev's culprit frame, "" when it has none.
// A file that is a URL (a browser's script) goes without its query, and a
// long name is cut in the middle: the subject it is in must stay a line
// a mail server takes (RFC 5322: 998 bytes), and one a person reads.
func Location(ev *event.Event) string {
	f, ok := ev.CulpritFrame()
	if !ok {
		return ""
	}
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	if i := strings.IndexAny(file, "?#"); i > 0 {
		file = file[:i]
	}
	base := path.Base(file)
	if r := []rune(base); len(r) > maxLocationFile {
		base = string(r[:maxLocationFile/2]) + "…" + string(r[len(r)-maxLocationFile/2+1:])
	}
	return base + ":" + strconv.Itoa(f.Lineno)
}
