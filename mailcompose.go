package errlog

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/logfile"
)

// ComposeOptions say how ComposeMail and ComposeDigest write a mail: for
// a server (errlogd) that mails the events it stores with the same
// composition as error mail.
type ComposeOptions struct {
	// From and To are the header addresses. Required.
	From string
	To   []string
	// SubjectPrefix starts the subject. Default DefaultSubjectPrefix; a
	// prefix of spaces only means none.
	SubjectPrefix string
	// ServerName names the sender's host in Message-ID. Default "errlog".
	ServerName string
	// Now is the mail's date. Default time.Now().
	Now time.Time
	// Headline replaces the first line of the body ("First occurrence of
	// this error."). Default: that line.
	Headline string
	// Link, when set, is added to the headline ("Details: URL"): the
	// group's page on the server.
	Link string
}

// DigestItem is one group of a digest mail.
type DigestItem struct {
	// GroupKey threads nothing (a digest is its own thread) but names
	// the group in the list.
	GroupKey string
	// Title and Level are the group's, as its first mail showed them.
	Title string
	Level string
	// Reason is why the group is listed ("new", "regression", …).
	Reason string
	// Count is the group's number of events, Last when it was last seen.
	Count int64
	Last  time.Time
	// Link is the group's dashboard page; "" for none.
	Link string
}

func (o *ComposeOptions) sink() (*noticeSink, error) {
	if o.From == "" || len(o.To) == 0 {
		return nil, errors.New("errlog: smtp: compose: From and To are required")
	}
	f, err := logfile.NewFormatter("", "")
	if err != nil {
		return nil, fmt.Errorf("errlog: smtp: compose: %w", err)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	server := o.ServerName
	if server == "" {
		server = "errlog"
	}
	prefix := DefaultSubjectPrefix
	if o.SubjectPrefix != "" {
		prefix = o.SubjectPrefix
		if len(bytes.TrimSpace([]byte(prefix))) == 0 {
			prefix = ""
		}
	}
	return &noticeSink{
		cfg: &mailConfig{from: o.From, to: o.To, prefix: prefix, window: DefaultMailWindow, maxPerHour: DefaultMaxMailsPerHour},
		env: sinkEnv{OnError: func(error) {}, Clock: clock.WithNow(func() time.Time { return now }), Formatter: f, ServerName: server},
	}, nil
}

// ComposeMail writes the error mail of ev (kind NoticeFirst, total its
// occurrences so far): the subject, threading headers (In-Reply-To and
// References name the group, so that a group's mails form one thread),
// text and HTML parts of error mail, plus o.Link. It returns the
// Message-ID and the RFC 5322 message.
func ComposeMail(ev *event.Event, groupKey string, total int, o ComposeOptions) (id string, msg []byte, err error) {
	s, err := o.sink()
	if err != nil {
		return "", nil, err
	}
	n := &Notice{Kind: NoticeFirst, GroupKey: groupKey, Event: ev, Count: 1, Total: total}
	v := s.view(n, s.env.Clock.Now())
	if o.Headline != "" {
		v.Headline = o.Headline
	}
	return s.render(n, v, o.Link, summaryThread)
}

// ComposeDigest writes one mail listing several groups (a burst of new
// errors), most recent first as given.
func ComposeDigest(items []DigestItem, o ComposeOptions) (id string, msg []byte, err error) {
	s, err := o.sink()
	if err != nil {
		return "", nil, err
	}
	n := &Notice{Kind: NoticeDigest, Count: len(items)}
	v := &mailView{Level: mailLabel(event.LevelError)}
	v.Title = fmt.Sprintf("%d errors to look at", len(items))
	v.Subject = s.cfg.prefix + "ERROR: " + v.Title
	v.Headline = o.Headline
	if v.Headline == "" {
		v.Headline = fmt.Sprintf("%d groups were new, regressed or frequent since the last mail.", len(items))
	}
	rows := make([]mailKV, 0, len(items))
	for _, it := range items {
		val := fmt.Sprintf("%s %s, %d %s, last at %s", it.Reason, it.Level, it.Count, times(int(it.Count)), wallClock(it.Last, s.env.Clock.Now()))
		if it.Link != "" {
			val += " " + it.Link
		}
		rows = append(rows, mailKV{Key: it.Title, Value: val})
	}
	v.addSection("Groups", rows)
	return s.render(n, v, o.Link, "<errlog-digest@errlog>")
}
