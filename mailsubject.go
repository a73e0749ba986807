package errlog

import (
	"strings"
	"sync"
	"unicode"
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
