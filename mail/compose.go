package mail

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/event"
	"gopkg.in/gomail.v2"
)

// A Composer writes notices as mails: the subject an on-call engineer
// triages from, threading headers (a group's mails form one thread), a
// plain text part that reads well in any client and in a terminal, and
// the same as HTML. Set its fields, then use it from any goroutine; do not
// copy it after its first use (it remembers each group's first subject).
type Composer struct {
	// Addresses are the header and envelope addresses (Options.Addresses
	// or ParseAddresses). Required.
	Addresses Addresses
	// SubjectPrefix starts every subject. Default DefaultSubjectPrefix;
	// a prefix of spaces only means none.
	SubjectPrefix string
	// ServerName is the host that logged the errors (the client's): the
	// mail's "server" row when the event has none, and the right side of
	// Message-ID. Default: no row, and the sender's domain (a server
	// that mails other hosts' events, errlogd, leaves it empty).
	ServerName string
	// Environment and Release are the mail's rows when the event has
	// none. Default: no row.
	Environment, Release string
	// Mailer names the program in X-Mailer and the signature
	// ("errlog/v0.9.0"). Default "errlog".
	Mailer string
	// Throttle is what the headlines say of the digest window and the
	// hourly cap. Default: ThrottleOptions' defaults.
	Throttle ThrottleOptions
	// Line, when set, writes the event as a log line, shown first (the
	// log file's template). Default: no line.
	Line func(*event.Event) string
	// Now is the mail's date. Default time.Now.
	Now func() time.Time
	// OnError is told when the HTML part had to be left out. Default:
	// nothing is told.
	OnError func(error)

	subjects subjectMemo
}

// Message is one composed mail, ready for a Transport.
type Message struct {
	// ID is the Message-ID, with its angle brackets.
	ID string
	// From and To are the envelope's bare addresses.
	From string
	To   []string
	// Data is the RFC 5322 message.
	Data []byte
}

// Extra is what a server adds to a notice's mail.
type Extra struct {
	// Headline, when set, replaces the mail's first line ("First
	// occurrence of this error.").
	Headline string
	// Link, when set, is the group's page (a digest's: the dashboard),
	// shown after the headline, as a link in the HTML part.
	Link string
}

// DigestItem is one group of a digest of several groups.
type DigestItem struct {
	// GroupKey names the group.
	GroupKey string
	// Title and Level are the group's.
	Title string
	Level string
	// Reason is why the group is listed ("new", "regression", …).
	Reason string
	// Count is the group's number of events, Last when it was last seen.
	Count int64
	Last  time.Time
	// Link is the group's page; "" for none.
	Link string
}

// SummaryThread is the thread of mails that belong to no group.
const SummaryThread = "<errlog-summary@errlog>"

// digestThread is the thread of digests of several groups.
const digestThread = "<errlog-digest@errlog>"

// Compose writes the mail of n.
func (c *Composer) Compose(n *Notice, x Extra) (*Message, error) {
	v := c.view(n, c.now())
	if x.Headline != "" {
		v.Headline = x.Headline
	}
	return c.render(n.Kind, n.GroupKey, n.Count, n.Event, v, x.Link, SummaryThread)
}

// Digest writes one mail listing several groups (a burst of new errors on
// a server), in the order given.
func (c *Composer) Digest(items []DigestItem, x Extra) (*Message, error) {
	now := c.now()
	v := &mailView{Level: "ERROR"}
	v.Title = fmt.Sprintf("%d errors to look at", len(items))
	v.Subject = headerText(c.prefix() + "ERROR: " + v.Title)
	v.Headline = x.Headline
	if v.Headline == "" {
		v.Headline = fmt.Sprintf("%d groups were new, regressed or frequent since the last mail.", len(items))
	}
	rows := make([]mailKV, 0, len(items))
	for _, it := range items {
		val := fmt.Sprintf("%s %s, %d %s, last at %s", it.Reason, it.Level, it.Count, times(int(it.Count)), wallClock(it.Last, now))
		rows = append(rows, mailKV{Key: it.Title, Value: val, Link: it.Link})
	}
	v.addSection("Groups", rows)
	return c.render(NoticeDigest, "", len(items), nil, v, x.Link, digestThread)
}

func (c *Composer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Composer) prefix() string {
	switch p := c.SubjectPrefix; {
	case p == "":
		return DefaultSubjectPrefix
	case strings.TrimSpace(p) == "":
		return ""
	default:
		return p
	}
}

func (c *Composer) mailer() string {
	if c.Mailer == "" {
		return "errlog"
	}
	return c.Mailer
}

// idHost is the right side of Message-ID.
func (c *Composer) idHost() string {
	if c.ServerName != "" {
		return HostPart(c.ServerName)
	}
	_, domain, _ := strings.Cut(c.Addresses.EnvFrom, "@")
	return HostPart(domain)
}

// render writes the mail of a view already made: both parts and the
// threading headers (a group's mails form one thread; the others root).
func (c *Composer) render(kind NoticeKind, group string, count int, ev *event.Event, v *mailView, link, root string) (*Message, error) {
	a := c.Addresses
	if a.From == "" || len(a.To) == 0 {
		return nil, fmt.Errorf("mail: compose: no sender or no recipient")
	}
	v.Link = link
	v.Mailer = c.mailer()
	text := v.text()
	var html bytes.Buffer
	htmlErr := mailHTML.Execute(&html, v)

	id := "<" + event.NewID() + "@" + c.idHost() + ">"
	if group != "" {
		root = "<group-" + group + "@errlog>"
	}
	m := gomail.NewMessage()
	m.SetHeader("From", a.From)
	m.SetHeader("To", a.To...)
	m.SetHeader("Subject", v.Subject)
	m.SetDateHeader("Date", c.now())
	m.SetHeader("Message-ID", id)
	m.SetHeader("In-Reply-To", root)
	m.SetHeader("References", root)
	m.SetHeader("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	m.SetHeader("X-Mailer", v.Mailer)
	m.SetHeader("X-Errlog-Kind", string(kind))
	m.SetHeader("X-Errlog-Count", strconv.Itoa(count))
	if group != "" {
		m.SetHeader("X-Errlog-Group", group)
	}
	if ev != nil && ev.EventID != "" {
		m.SetHeader("X-Errlog-Event-Id", ev.EventID)
	}
	m.SetBody("text/plain", text)
	if htmlErr == nil {
		m.AddAlternative("text/html", html.String())
	} else if c.OnError != nil {
		c.OnError(fmt.Errorf("mail: HTML part left out: %w", htmlErr))
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mail: compose: %w", err)
	}
	return &Message{ID: id, From: a.EnvFrom, To: a.EnvTo, Data: buf.Bytes()}, nil
}
