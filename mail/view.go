package mail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/event"
)

// The view: one notice prepared for both parts, the text (text.go) and
// the HTML (html.go, templates/mail.html).

// maxMailValue bounds one value shown in a mail; the tracker keeps it all.
const maxMailValue = 8 << 10

// mailView is one notice prepared for both bodies.
type mailView struct {
	Subject     string
	Line        string   // the log line (Composer.Line)
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
	Link        string      // the group's page (Extra.Link)
	Mailer      string      // the signature
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

type mailKV struct {
	Key, Value string
	Link       string // the key's page, if any
}

// view prepares n for the templates.
func (c *Composer) view(n *Notice, now time.Time) *mailView {
	v := &mailView{GroupKey: n.GroupKey}
	if n.Dropped > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d earlier error mails were dropped: the mail queue was full.", n.Dropped))
	}
	if n.Kind == NoticeSummary {
		v.Level = "WARNING"
		v.Title = fmt.Sprintf("%d more errors not mailed since %s", n.Count, wallClock(n.Since, now))
		v.Subject = headerText(c.prefix() + "WARNING: " + v.Title)
		why := fmt.Sprintf("errlog sends at most %d mails an hour", c.Throttle.WithDefaults().MaxPerHour)
		if c.Throttle.WithDefaults().MaxPerHour < 0 {
			// No cap: they were held back past the groups tracked at once.
			why = fmt.Sprintf("errlog tracks at most %d groups at once", maxThrottleGroups)
		}
		v.Headline = fmt.Sprintf("%s, last at %s: %s.", v.Title, wallClock(n.Last, now), why)
		v.Summary = n.Groups
		if n.OtherGroups > 0 {
			v.SummaryMore = fmt.Sprintf("and %d times more in other groups", n.OtherCount)
		}
		v.Sections = append(v.Sections, mailSection{Name: "Environment", Rows: c.envRows(nil)})
		return v
	}
	ev := n.Event
	v.EventID = ev.EventID
	v.Level = strings.ToUpper(string(ev.Level))
	if v.Level == "" {
		v.Level = "ERROR"
	}
	v.Title = ev.Title()
	v.Subject = c.subjects.first(n.GroupKey, c.subject(ev, v.Level))
	if c.Line != nil {
		v.Line = c.Line(ev)
	}
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
		v.Headline += fmt.Sprintf(" Repeats in the next %s are counted into one digest.", humanDuration(c.Throttle.WithDefaults().Window))
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
			mr.Body = clip(d, maxMailValue)
		case map[string]any:
			mr.Data = anyRows(d)
		case map[string]string:
			mr.Data = stringRows(d)
		case map[string][]string:
			for _, k := range sortedKeys(d) {
				mr.Data = append(mr.Data, mailKV{Key: k, Value: valueText(strings.Join(d[k], ", "))})
			}
		default:
			mr.Body = valueText(d)
		}
		v.Request = mr
	}
	if u := ev.User; u != nil {
		var rows []mailKV
		for _, kv := range []mailKV{{Key: "id", Value: u.ID}, {Key: "email", Value: u.Email}, {Key: "username", Value: u.Username}, {Key: "ip_address", Value: u.IPAddress}} {
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
	v.addSection("Environment", c.envRows(ev))
	return v
}

func (v *mailView) addSection(name string, rows []mailKV) {
	if len(rows) > 0 {
		v.Sections = append(v.Sections, mailSection{Name: name, Rows: rows})
	}
}

// envRows describes where the event happened: the event's own fields,
// else this process's.
func (c *Composer) envRows(ev *event.Event) []mailKV {
	envName, release, server := c.Environment, c.Release, c.ServerName
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
			rows = append(rows, mailKV{Key: k, Value: v})
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

func stringRows(m map[string]string) []mailKV {
	rows := make([]mailKV, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, mailKV{Key: k, Value: clip(m[k], maxMailValue)})
	}
	return rows
}

func anyRows(m map[string]any) []mailKV {
	rows := make([]mailKV, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, mailKV{Key: k, Value: valueText(m[k])})
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
		s = printed(x)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err == nil {
			s = strings.TrimSuffix(buf.String(), "\n")
		} else {
			s = printed(v)
		}
	}
	return clip(s, maxMailValue)
}

// printed is v as fmt prints it, or the panic of a String or Error
// method that panicked: a value in an event is shown, never fatal.
func printed(v any) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	return fmt.Sprint(v)
}

// clip cuts s to at most max bytes, at a rune's start, and says how much
// was cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head := strings.ToValidUTF8(s[:max], "")
	return head + "…[truncated " + strconv.Itoa(len(s)-len(head)) + " bytes]"
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
