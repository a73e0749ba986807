package errlog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/values"
	"gopkg.in/gomail.v2"
)

// The mail itself: a subject an on-call engineer can triage from, a plain
// text body that reads well in any client (and in a terminal), and the
// same as HTML.

//go:embed mailtemplates/mail.html
var mailHTMLSource string

var mailHTML = template.Must(template.New("mail.html").Funcs(template.FuncMap{
	"text": mailText,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).Parse(mailHTMLSource + mailCrumbsHTMLSource))

// maxSubjectMessage bounds the message part of a subject, in runes: mail
// clients show about this much, and long subjects get folded badly.
const maxSubjectMessage = 100

// maxMailValue bounds one value shown in a mail; the tracker keeps it all.
const maxMailValue = 8 << 10

// mailView is one notice prepared for both bodies.
type mailView struct {
	Subject     string
	Line        string   // the log line, in Options.Format
	Headline    string   // what this mail is, and how often it happened
	Notes       []string // problems of errlog itself worth knowing
	Level       string
	Title       string
	Chain       []mailException // oldest first
	Stack       []mailFrame     // most recent call first
	Request     *mailRequest
	Sections    []mailSection
	EventID     string
	GroupKey    string
	Summary     []NoticeGroup
	SummaryMore string
	Breadcrumbs []mailCrumb // oldest first
}

type mailException struct{ Type, Value string }

type mailFrame struct {
	Function, File string
	Line           int
	InApp          bool
	Code           string // the source line of an in-app frame, trimmed
}

type mailRequest struct {
	Method, URL, Query, Body string
	Headers, Cookies, Data   []mailKV
	Env                      []mailKV
}

type mailSection struct {
	Name string
	Rows []mailKV
}

type mailKV struct{ Key, Value string }

// compose renders n as an RFC 5322 message and returns its Message-ID.
func (s *noticeSink) compose(n *Notice) (id string, msg []byte, err error) {
	return s.render(n, s.view(n, s.env.Clock.Now()), "", summaryThread)
}

// summaryThread is the thread of mails that belong to no group.
const summaryThread = "<errlog-summary@errlog>"

// render writes the mail of a view already made: both parts, the
// threading headers (a group's mails form one thread; the others root),
// and link, when set, after the headline.
func (s *noticeSink) render(n *Notice, v *mailView, link, root string) (id string, msg []byte, err error) {
	now := s.env.Clock.Now()
	if link != "" {
		v.Headline += " Details: " + link
	}
	text := v.text()
	var html bytes.Buffer
	htmlErr := mailHTML.Execute(&html, v)

	id = "<" + event.NewID() + "@" + hostPart(s.env.ServerName) + ">"
	if n.GroupKey != "" {
		root = "<group-" + n.GroupKey + "@errlog>"
	}
	m := gomail.NewMessage()
	m.SetHeader("From", s.cfg.from)
	m.SetHeader("To", s.cfg.to...)
	m.SetHeader("Subject", v.Subject)
	m.SetDateHeader("Date", now)
	m.SetHeader("Message-ID", id)
	m.SetHeader("In-Reply-To", root)
	m.SetHeader("References", root)
	m.SetHeader("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	m.SetHeader("X-Mailer", "errlog/"+Version)
	m.SetHeader("X-Errlog-Kind", string(n.Kind))
	m.SetHeader("X-Errlog-Count", strconv.Itoa(n.Count))
	if n.GroupKey != "" {
		m.SetHeader("X-Errlog-Group", n.GroupKey)
	}
	if n.Event != nil && n.Event.EventID != "" {
		m.SetHeader("X-Errlog-Event-Id", n.Event.EventID)
	}
	m.SetBody("text/plain", text)
	if htmlErr == nil {
		m.AddAlternative("text/html", html.String())
	} else {
		s.env.OnError(fmt.Errorf("errlog: smtp: HTML part left out: %w", htmlErr))
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return "", nil, fmt.Errorf("errlog: smtp: compose: %w", err)
	}
	return id, buf.Bytes(), nil
}

// view prepares n for the templates.
func (s *noticeSink) view(n *Notice, now time.Time) *mailView {
	v := &mailView{GroupKey: n.GroupKey}
	if n.Dropped > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d earlier error mails were dropped: the mail queue was full.", n.Dropped))
	}
	if n.Kind == NoticeSummary {
		v.Level = mailLabel(event.LevelWarning)
		v.Title = fmt.Sprintf("%d more errors not mailed since %s", n.Count, wallClock(n.Since, now))
		v.Subject = headerText(s.cfg.prefix + "WARNING: " + v.Title)
		v.Headline = fmt.Sprintf("%s, last at %s: errlog sends at most %d mails an hour.", v.Title, wallClock(n.Last, now), s.cfg.maxPerHour)
		v.Summary = n.Groups
		if n.OtherGroups > 0 {
			v.SummaryMore = fmt.Sprintf("and %d times more in other groups", n.OtherCount)
		}
		v.Sections = append(v.Sections, mailSection{Name: "Environment", Rows: s.envRows(nil)})
		return v
	}
	ev := n.Event
	v.EventID = ev.EventID
	v.Level = mailLabel(ev.Level)
	if v.Level == "" {
		v.Level = "ERROR"
	}
	v.Title = ev.Title()
	v.Subject = s.subjects.first(n.GroupKey, s.subject(ev, v.Level))
	v.Line = s.formatLine(ev)
	switch n.Kind {
	case NoticeDigest:
		v.Subject = "Re: " + v.Subject
		v.Headline = fmt.Sprintf("… and %d more %s since %s, last at %s.", n.Count, times(n.Count), wallClock(n.Since, now), wallClock(n.Last, now))
		if n.Total > n.Count+1 {
			v.Headline += fmt.Sprintf(" %d %s in all since this process first saw it.", n.Total, times(n.Total))
		}
		v.Headline += " The details below are of the last one."
	default:
		if n.Total > 1 {
			v.Headline = fmt.Sprintf("This error is back: %d %s in all since this process first saw it.", n.Total, times(n.Total))
		} else {
			v.Headline = "First occurrence of this error."
		}
		v.Headline += fmt.Sprintf(" Repeats in the next %s are counted into one digest.", humanDuration(s.cfg.window))
	}
	for _, ex := range ev.Exception {
		v.Chain = append(v.Chain, mailException{Type: ex.Type, Value: ex.Value})
	}
	frames := ev.Frames()
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		fn := f.Function
		if f.Module != "" {
			fn = f.Module + "." + f.Function
		}
		file := f.AbsPath
		if file == "" {
			file = f.Filename
		}
		mf := mailFrame{Function: fn, File: file, Line: f.Lineno, InApp: f.InApp}
		if f.InApp {
			mf.Code = strings.TrimSpace(f.ContextLine)
		}
		v.Stack = append(v.Stack, mf)
	}
	if r := ev.Request; r != nil {
		mr := &mailRequest{Method: r.Method, URL: r.URL, Query: r.QueryString}
		if mr.Query != "" && !strings.Contains(mr.URL, "?") {
			// Sentry keeps them apart; a reader wants the URL as it was.
			mr.URL, mr.Query = mr.URL+"?"+mr.Query, ""
		}
		mr.Headers = stringRows(r.Headers)
		mr.Cookies = stringRows(r.Cookies)
		mr.Env = stringRows(r.Env)
		switch d := r.Data.(type) {
		case nil:
		case string:
			mr.Body = values.Truncate(d, maxMailValue)
		case map[string]any:
			mr.Data = anyRows(d)
		case map[string]string:
			mr.Data = stringRows(d)
		case map[string][]string:
			for _, k := range sortedKeys(d) {
				mr.Data = append(mr.Data, mailKV{k, valueText(strings.Join(d[k], ", "))})
			}
		default:
			mr.Body = valueText(d)
		}
		v.Request = mr
	}
	if u := ev.User; u != nil {
		var rows []mailKV
		for _, kv := range []mailKV{{"id", u.ID}, {"email", u.Email}, {"username", u.Username}, {"ip_address", u.IPAddress}} {
			if kv.Value != "" {
				rows = append(rows, kv)
			}
		}
		rows = append(rows, anyRows(u.Data)...)
		v.addSection("User", rows)
	}
	v.Breadcrumbs = mailCrumbs(ev)
	v.addSection("Extra", anyRows(ev.Extra))
	v.addSection("Tags", stringRows(ev.Tags))
	for _, name := range sortedKeys(ev.Contexts) {
		v.addSection("Context ("+name+")", anyRows(ev.Contexts[name]))
	}
	v.addSection("Environment", s.envRows(ev))
	return v
}

func (v *mailView) addSection(name string, rows []mailKV) {
	if len(rows) > 0 {
		v.Sections = append(v.Sections, mailSection{Name: name, Rows: rows})
	}
}

// envRows describes where the event happened: the event's own fields,
// else this process's.
func (s *noticeSink) envRows(ev *event.Event) []mailKV {
	envName, release, server := s.env.Environment, s.env.Release, s.env.ServerName
	var rows []mailKV
	if ev != nil {
		if ev.Environment != "" {
			envName = ev.Environment
		}
		if ev.Release != "" {
			release = ev.Release
		}
		if ev.ServerName != "" {
			server = ev.ServerName
		}
	}
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, mailKV{k, v})
		}
	}
	add("environment", envName)
	add("release", release)
	add("server", server)
	if ev != nil {
		add("logger", ev.Logger)
		add("transaction", ev.Transaction)
		if !ev.Timestamp.IsZero() {
			add("time", ev.Timestamp.UTC().Format("2006-01-02 15:04:05.000 UTC"))
		}
		if ev.SDK != nil {
			add("sdk", ev.SDK.Name+" "+ev.SDK.Version)
		}
	}
	return rows
}

// subject is "<prefix><LEVEL>: <message> (<file>:<line>)", the message cut
// to maxSubjectMessage runes.
func (s *noticeSink) subject(ev *event.Event, level string) string {
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
	subj := s.cfg.prefix + level + ": " + msg
	if loc := location(ev); loc != "" {
		subj += " (" + loc + ")"
	}
	return headerText(subj)
}

// location is "file.go:42" of ev's culprit frame.
func location(ev *event.Event) string {
	f, ok := ev.CulpritFrame()
	if !ok {
		return ""
	}
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	return path.Base(file) + ":" + strconv.Itoa(f.Lineno)
}

// formatLine renders ev with the Options' template, as the log file has
// it.
func (s *noticeSink) formatLine(ev *event.Event) string {
	return s.env.Formatter.EventLine(ev)
}

// text renders the plain-text body.
func (v *mailView) text() string {
	var b strings.Builder
	if v.Line != "" {
		b.WriteString(v.Line)
		b.WriteString("\n\n")
	}
	b.WriteString(v.Headline)
	b.WriteByte('\n')
	for _, n := range v.Notes {
		b.WriteString("Note: " + n + "\n")
	}
	if len(v.Summary) > 0 {
		b.WriteString("\nHeld back, by group:\n")
		for _, g := range v.Summary {
			fmt.Fprintf(&b, "  %6d × %s\n", g.Count, g.Title)
		}
		if v.SummaryMore != "" {
			b.WriteString("  " + v.SummaryMore + "\n")
		}
	}
	if len(v.Chain) > 0 {
		b.WriteString("\nError chain (oldest first):\n")
		for i, ex := range v.Chain {
			fmt.Fprintf(&b, "  %d. ", i+1)
			if ex.Type != "" {
				b.WriteString(ex.Type + ": ")
			}
			writeIndented(&b, ex.Value, "     ")
		}
	}
	if len(v.Stack) > 0 {
		b.WriteString("\nStack trace (most recent call first):\n")
		for _, f := range v.Stack {
			fmt.Fprintf(&b, "  %s\n      %s:%d\n", f.Function, f.File, f.Line)
			if f.Code != "" {
				b.WriteString("        " + f.Code + "\n")
			}
		}
	}
	if r := v.Request; r != nil {
		b.WriteString("\nRequest:\n  " + r.Method + " " + r.URL + "\n")
		if r.Query != "" {
			b.WriteString("  Query: " + r.Query + "\n")
		}
		writeRows(&b, "  Headers:\n", r.Headers)
		writeRows(&b, "  Cookies:\n", r.Cookies)
		writeRows(&b, "  Form:\n", r.Data)
		if r.Body != "" {
			b.WriteString("  Body:\n    ")
			writeIndented(&b, r.Body, "    ")
		}
		writeRows(&b, "  Environment:\n", r.Env)
	}
	writeCrumbs(&b, v.Breadcrumbs)
	for _, sec := range v.Sections {
		writeRows(&b, "\n"+sec.Name+":\n", sec.Rows)
	}
	if v.EventID != "" {
		b.WriteString("\nEvent ID: " + v.EventID + "\n")
	}
	if v.GroupKey != "" {
		b.WriteString("Group: " + v.GroupKey + "\n")
	}
	b.WriteString("\n-- \nerrlog " + Version + "\n")
	return b.String()
}

func writeRows(b *strings.Builder, title string, rows []mailKV) {
	if len(rows) == 0 {
		return
	}
	b.WriteString(title)
	indent := "    "
	if !strings.HasPrefix(title, "  ") {
		indent = "  "
	}
	for _, kv := range rows {
		b.WriteString(indent + kv.Key + ": ")
		writeIndented(b, kv.Value, indent+"  ")
	}
}

// writeIndented writes s and a newline, indenting every line after the
// first.
func writeIndented(b *strings.Builder, s, indent string) {
	s = strings.TrimRight(s, "\n")
	b.WriteString(strings.ReplaceAll(s, "\n", "\n"+indent))
	b.WriteByte('\n')
}

func stringRows(m map[string]string) []mailKV {
	rows := make([]mailKV, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, mailKV{k, values.Truncate(m[k], maxMailValue)})
	}
	return rows
}

func anyRows(m map[string]any) []mailKV {
	rows := make([]mailKV, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, mailKV{k, valueText(m[k])})
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// valueText shows a value of an event: strings as they are, structures as
// JSON (sorted keys), anything JSON cannot encode as Go would print it.
func valueText(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case nil:
		s = "null"
	case fmt.Stringer, error:
		s = values.Text(x)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err == nil {
			s = strings.TrimSuffix(buf.String(), "\n")
		} else {
			s = values.Text(v)
		}
	}
	return values.Truncate(s, maxMailValue)
}

// wallClock shows t as a mail reader wants it: "14:02" on the day of ref,
// with the date otherwise.
func wallClock(t, ref time.Time) string {
	t, ref = t.In(time.Local), ref.In(time.Local)
	if y1, m1, d1 := t.Date(); true {
		if y2, m2, d2 := ref.Date(); y1 == y2 && m1 == m2 && d1 == d2 {
			return t.Format("15:04")
		}
	}
	return t.Format("2006-01-02 15:04")
}

func times(n int) string {
	if n == 1 {
		return "time"
	}
	return "times"
}

// humanDuration shows d as "10 minutes", "1 hour", "90 seconds".
func humanDuration(d time.Duration) string {
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return strconv.FormatInt(n, 10) + " " + name + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	case d >= time.Second && d%time.Second == 0:
		return unit(int64(d/time.Second), "second")
	}
	return d.String()
}
