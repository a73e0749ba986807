package errlog

import (
	"fmt"
	"io"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/tracker"
	"github.com/errlog/errlog/wire"
)

// FromEnv returns Options read from the ERRLOG_* environment variables
// (see the table in docs/configuration.md). An unset variable leaves the default, with
// two choices of its own for a deployed program: when mail or a tracker
// is set, the spool directory (ERRLOG_SPOOL_DIR) is a folder of the OS
// cache directory named for the program, and crash reports
// (Options.CrashReports, ERRLOG_CRASH_REPORTS) are on. A
// malformed value is reported once on stderr, naming the variable, and the
// default is used: a typo in a deployment must not take the application
// down, and must not go unnoticed either. A setting without a default
// says what happens instead: a bad recipient is left out, a bad sender
// gives way to the default one, and a tracker left with nothing to send
// to (a bad DSN) or a mail folder that cannot be made (FromEnv makes it,
// as the mail sink would) is left out of the Options and said to be off.
// Mail without a recipient is kept, for the program to add them
// (Options.Mail.To); New says, once, that mail is off if it does not.
func FromEnv() Options {
	return fromEnv(os.LookupEnv, os.Stderr)
}

// envReported remembers which malformed variables were reported, so that
// calling FromEnv again does not repeat them.
var envReported sync.Map

type envReader struct {
	lookup func(string) (string, bool)
	w      io.Writer
}

func (e envReader) str(name string) (string, bool) {
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (e envReader) bad(name, value string, why string) {
	e.badThen(name, value, why, "using the default")
}

// badThen reports a malformed value, once, with what errlog does instead
// (then): "using the default", or which sink is off when there is no
// default to fall back on.
func (e envReader) badThen(name, value, why, then string) {
	if _, dup := envReported.LoadOrStore(name+"="+value, true); dup {
		return
	}
	fmt.Fprintf(e.w, "errlog: %s=%q: %s; %s\n", name, value, why, then)
}

// secretBad reports, once, the malformed value of a variable that may
// hold a credential: report says what is wrong without the value.
func (e envReader) secretBad(name, value, report string) {
	if _, dup := envReported.LoadOrStore(name+"="+value, true); dup {
		return
	}
	fmt.Fprintf(e.w, "errlog: %s\n", report)
}

// note reports, once, something about a variable that is not a bad
// value (its default cannot be had).
func (e envReader) note(name, what string) {
	if _, dup := envReported.LoadOrStore(name+" "+what, true); dup {
		return
	}
	fmt.Fprintf(e.w, "errlog: %s\n", what)
}

func (e envReader) int(name string, def int) int {
	v, ok := e.str(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.bad(name, v, "not a whole number")
		return def
	}
	return n
}

// count is int for a setting that cannot be negative: a negative value
// is reported, and the default used.
func (e envReader) count(name string, def int) int {
	n := e.int(name, def)
	if n < 0 {
		v, _ := e.str(name)
		e.bad(name, v, "negative")
		return def
	}
	return n
}

// mailOff reports whether ERRLOG_MAIL_ENABLED turns mail off; a bad
// value is reported where it is read (bool), not here.
func (e envReader) mailOff() bool {
	v, _ := e.str("ERRLOG_MAIL_ENABLED")
	switch strings.ToLower(v) {
	case "0", "f", "false", "no", "off":
		return true
	}
	return false
}

func (e envReader) bool(name string, def bool) bool {
	v, ok := e.str(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		switch strings.ToLower(v) {
		case "yes", "on":
			return true
		case "no", "off":
			return false
		}
		e.bad(name, v, "not true or false")
		return def
	}
	return b
}

// levelsAccepted is what ParseLevel takes, for a bad level's report.
const levelsAccepted = "not a level: want debug, info, warn (or warning), error, critical (or fatal), " +
	"Python's numbers 0 to 50 in steps of 5 (10 debug, 20 info, 30 warn, 40 error, 50 critical), or slog's form, as WARN+2"

// level reads a level; nil, the default of the setting, when the
// variable is unset or malformed.
func (e envReader) level(name string) slog.Leveler {
	v, ok := e.str(name)
	if !ok {
		return nil
	}
	l, err := ParseLevel(v)
	if err != nil {
		e.bad(name, v, levelsAccepted)
		return nil
	}
	return l
}

func fromEnv(lookup func(string) (string, bool), stderr io.Writer) Options {
	e := envReader{lookup: lookup, w: stderr}
	var o Options
	// An unset variable leaves the field zero: its default is the code's,
	// set in one place (resolveOptions and the sinks' own), never here.
	o.Level = e.level("ERRLOG_LEVEL")
	o.Format, _ = e.str("ERRLOG_FORMAT")
	o.DateFormat, _ = e.str("ERRLOG_DATE_FORMAT")
	if o.Format != "" {
		if f, err := logfile.NewFormatter(o.Format, o.DateFormat); err != nil {
			e.bad("ERRLOG_FORMAT", o.Format, strings.TrimPrefix(err.Error(), "errlog: "))
			o.Format = "" // the date format is read apart, and kept
		} else if !e.formatFields(o.Format, f.Fields()) {
			o.Format = ""
		}
	}

	if path, ok := e.str("ERRLOG_FILE"); ok {
		o.File = &logfile.Options{
			Path:       path,
			Level:      e.level("ERRLOG_FILE_LEVEL"),
			MaxSizeMB:  e.int("ERRLOG_FILE_MAX_MB", 0),
			MaxBackups: e.int("ERRLOG_FILE_BACKUPS", 0),
			MaxAgeDays: e.count("ERRLOG_FILE_MAX_AGE_DAYS", 0),
			Compress:   e.bool("ERRLOG_FILE_COMPRESS", false),
			Interval:   e.interval("ERRLOG_FILE_ROTATE"),
		}
	}

	if addr, ok := e.str("ERRLOG_SMTP_ADDR"); ok {
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			// user:password@host: the value is not repeated.
			e.badThen("ERRLOG_SMTP_ADDR", "…@"+addr[i+1:], "want host:port; credentials go in ERRLOG_SMTP_USER and ERRLOG_SMTP_PASSWORD", mailOff)
		} else if err := checkHostPort(addr); err != nil {
			e.bad("ERRLOG_SMTP_ADDR", addr, err.Error())
		} else {
			o.Mail = &MailOptions{Addr: addr}
		}
	}
	if dir, ok := e.str("ERRLOG_MAIL_DIR"); ok {
		// Made now, as the mail sink would make it, so that a directory
		// that cannot be is reported under its variable's name, and mail
		// goes to the server when there is one; not when mail is off.
		if e.mailOff() {
			if o.Mail == nil {
				o.Mail = &MailOptions{}
			}
			o.Mail.Dir = dir
		} else if err := os.MkdirAll(dir, 0o755); err != nil {
			if o.Mail != nil {
				e.badThen("ERRLOG_MAIL_DIR", dir, err.Error(), "mail goes to ERRLOG_SMTP_ADDR="+strconv.Quote(o.Mail.Addr)+" instead")
			} else {
				e.badThen("ERRLOG_MAIL_DIR", dir, err.Error(), mailOff)
			}
		} else {
			if o.Mail == nil {
				o.Mail = &MailOptions{}
			} else {
				e.note("ERRLOG_MAIL_DIR", "ERRLOG_MAIL_DIR="+strconv.Quote(dir)+" writes mail to files: ERRLOG_SMTP_ADDR="+strconv.Quote(o.Mail.Addr)+" is not used (unset one)")
			}
			o.Mail.Dir = dir
		}
	}
	if o.Mail == nil {
		// Mail set up but for its server (a typo in ERRLOG_SMTP_ADDR's
		// name, or it forgotten): said, not a silent "no mail".
		for _, name := range []string{"ERRLOG_MAIL_TO", "ERRLOG_MAIL_FROM", "ERRLOG_SMTP_USER"} {
			if _, ok := e.str(name); ok && !e.mailOff() {
				_, addr := e.str("ERRLOG_SMTP_ADDR")
				if _, dir := e.str("ERRLOG_MAIL_DIR"); !addr && !dir { // else already said
					e.note("ERRLOG_SMTP_ADDR", name+" is set without ERRLOG_SMTP_ADDR or ERRLOG_MAIL_DIR: error mail is off")
				}
				break
			}
		}
	}
	if o.Mail != nil {
		m := o.Mail
		m.Username, _ = e.str("ERRLOG_SMTP_USER")
		m.Password, _ = e.lookup("ERRLOG_SMTP_PASSWORD")
		m.From, _ = e.str("ERRLOG_MAIL_FROM")
		if to, ok := e.str("ERRLOG_MAIL_TO"); ok {
			m.To = mail.Recipients(to)
		}
		if p, ok := e.lookup("ERRLOG_MAIL_SUBJECT_PREFIX"); ok {
			m.SubjectPrefix = p
		}
		m.Disabled = !e.bool("ERRLOG_MAIL_ENABLED", true)
		e.smtpTLS(m)
		if !m.Disabled {
			// Kept even without a recipient: a program may add them
			// (o.Mail.To = …); New says, once, if none is set.
			e.mailAddresses(m)
		}
	}

	dsn, hasDSN := e.str("ERRLOG_DSN")
	debugURL, hasDebug := e.str("ERRLOG_DEBUG_URL")
	// Checked here, as the tracker will, to name the variable and keep the
	// other target working. Neither value is repeated: a DSN's key is a
	// credential, and a debug URL may hold one.
	if hasDebug && !isHTTPURL(debugURL) {
		e.secretBad("ERRLOG_DEBUG_URL", debugURL, "ERRLOG_DEBUG_URL is not an http:// or https:// URL; events are not posted to it")
		debugURL, hasDebug = "", false
	}
	if hasDSN {
		if _, err := wire.ParseDSN(dsn); err != nil {
			then := "events are not sent to a tracker"
			if hasDebug {
				then = "events go to ERRLOG_DEBUG_URL only"
			}
			e.secretBad("ERRLOG_DSN", dsn, "ERRLOG_DSN: "+err.Error()+"; "+then) // ParseDSN's errors never repeat the DSN
			dsn, hasDSN = "", false
		}
	}
	if hasDSN || hasDebug {
		o.Tracker = &tracker.Options{DSN: dsn, DebugURL: debugURL}
	}
	if dir, ok := e.str("ERRLOG_SPOOL_DIR"); ok {
		o.SpoolDir = dir
	} else if o.Mail != nil || o.Tracker != nil {
		var err error
		if o.SpoolDir, err = defaultSpoolDir(); err != nil {
			e.note("ERRLOG_SPOOL_DIR", "no spool: "+err.Error()+"; undelivered mail and events are kept in memory only, and lost at exit (set ERRLOG_SPOOL_DIR)")
		}
	}
	o.CrashReports = e.bool("ERRLOG_CRASH_REPORTS", true)

	// ERRLOG_MASK_KEYS adds to the defaults: a deployment naming its own
	// session key must not unmask every password (masking must not fail
	// open). Options.Mask.Keys set in code replaces them.
	if keys, ok := e.lookup("ERRLOG_MASK_KEYS"); ok {
		var more []string
		for _, k := range strings.Split(keys, ",") {
			if k = strings.TrimSpace(k); k != "" {
				if len(k) > 2 && strings.HasPrefix(k, "/") && strings.HasSuffix(k, "/") {
					e.note("ERRLOG_MASK_KEYS", "ERRLOG_MASK_KEYS takes key names, not patterns: "+strconv.Quote(k)+" masks a key of that name only")
				}
				more = append(more, k)
			}
		}
		if more != nil {
			o.Mask.Keys = append(DefaultMaskKeys(), more...)
		}
	}
	o.Mask.With, _ = e.str("ERRLOG_MASK_WITH")
	if keys, ok := e.str("ERRLOG_ENV_KEYS"); ok {
		for _, k := range strings.Split(keys, ",") {
			if k = strings.TrimSpace(k); k == "*" {
				e.note("ERRLOG_ENV_KEYS", `ERRLOG_ENV_KEYS: "*" would send the whole environment, secrets and all, and is left out: name the variables, or prefixes as APP_*`)
			} else if k != "" {
				o.EnvKeys = append(o.EnvKeys, k)
			}
		}
	}
	if s, ok := e.str("ERRLOG_TRACKED_STATUS"); ok {
		if rs, err := ParseStatusRanges(s); err != nil {
			e.bad("ERRLOG_TRACKED_STATUS", s, err.Error())
		} else {
			o.TrackedStatus = rs
		}
	}
	o.Debug = e.bool("ERRLOG_DEBUG", false)
	// Both defaults agree on a valid value; a malformed one keeps the default.
	if on, off := e.bool("ERRLOG_SOURCE_CONTEXT", true), !e.bool("ERRLOG_SOURCE_CONTEXT", false); on && !off {
		o.SourceContext = SourceOn
	} else if off && !on {
		o.SourceContext = SourceOff
	}
	o.Environment, _ = e.str("ERRLOG_ENVIRONMENT")
	o.Release, _ = e.str("ERRLOG_RELEASE")
	o.ServerName, _ = e.str("ERRLOG_SERVER_NAME")
	return o
}

// interval reads a rotation interval: "daily", "hourly", or a duration.
func (e envReader) interval(name string) time.Duration {
	v, ok := e.str(name)
	if !ok {
		return 0
	}
	switch strings.ToLower(v) {
	case "daily", "midnight":
		return 24 * time.Hour
	case "hourly":
		return time.Hour
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		e.bad(name, v, "not daily, hourly or a duration of a minute or more")
		return 0
	}
	return d
}

// checkHostPort accepts "host" (the mail sink then uses port 25) and
// "host:port" with a port from 1 to 65535.
func checkHostPort(addr string) error {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.HasSuffix(addr, "]") {
		return nil
	}
	if port, err := strconv.Atoi(addr[i+1:]); err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", addr[i+1:])
	}
	return nil
}

// defaultSpoolDir is errlog's folder of the OS cache directory, one per
// program name. Two programs of one name (/srv/shop/server and
// /srv/blog/server) share it; their tracker and mail folders are each
// owned by one DSN project and key, one list of recipients
// (delivery.OwnedDir), so that neither sends the other's backlog.
func defaultSpoolDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return filepath.Join(dir, "errlog", "spool"), nil
	}
	return filepath.Join(dir, "errlog", "spool", filepath.Base(exe)), nil
}

// smtpTLS reads ERRLOG_SMTP_TLS (starttls, required, implicit, none) and
// ERRLOG_SMTP_CA_FILE (PEM certificates trusted besides the system's).
func (e envReader) smtpTLS(m *MailOptions) {
	if mode, ok := e.str("ERRLOG_SMTP_TLS"); ok {
		if err := m.SetTLS(mode); err != nil {
			e.bad("ERRLOG_SMTP_TLS", mode, strings.TrimPrefix(err.Error(), "mail: "))
		}
	}
	if file, ok := e.str("ERRLOG_SMTP_CA_FILE"); ok {
		if err := m.SetCAFile(file); err != nil {
			e.bad("ERRLOG_SMTP_CA_FILE", file, strings.TrimPrefix(err.Error(), "mail: "))
		}
	}
}

// mailAddresses checks ERRLOG_MAIL_FROM and ERRLOG_MAIL_TO in m (and
// that SMTP AUTH has both its user and its password), which
// FromEnv read, as the mail sink will: a bad sender gives way to the
// default one, bad recipients are left out. Each problem is reported
// once, naming its variable and saying what happens. No recipient at all
// is New's to say (the program may set Options.Mail.To itself).
func (e envReader) mailAddresses(m *MailOptions) {
	if m.Dir == "" { // SMTP
		if m.Username != "" && m.Password == "" {
			e.note("ERRLOG_SMTP_USER", "ERRLOG_SMTP_USER is set without ERRLOG_SMTP_PASSWORD: SMTP AUTH with an empty password")
		} else if m.Username == "" && m.Password != "" {
			e.note("ERRLOG_SMTP_PASSWORD", "ERRLOG_SMTP_PASSWORD is set without ERRLOG_SMTP_USER: no SMTP AUTH, the password is not used")
		}
	}
	if m.From != "" {
		if _, err := netmail.ParseAddress(m.From); err != nil {
			e.badThen("ERRLOG_MAIL_FROM", m.From, "not an email address ("+strings.TrimPrefix(err.Error(), "mail: ")+")",
				"mail is sent from the default sender, errlog@ and the host name")
			m.From = ""
		}
	}
	to, _ := e.lookup("ERRLOG_MAIL_TO")
	var good, bad []string
	for _, r := range m.To {
		if _, err := netmail.ParseAddress(r); err != nil {
			bad = append(bad, strconv.Quote(r))
		} else {
			good = append(good, r)
		}
	}
	m.To = good
	if len(bad) > 0 {
		why := strings.Join(bad, ", ") + " is not an email address"
		if len(bad) > 1 {
			why = strings.Join(bad, ", ") + " are not email addresses"
		}
		then := "mail goes to the others: " + strings.Join(good, ", ")
		switch {
		case len(good) > 0:
		case m.Dir != "":
			then = "mail files are addressed to errlog@localhost"
		default:
			then = "left out" // and New says there is no recipient
		}
		e.badThen("ERRLOG_MAIL_TO", to, why, then)
	}
}

// isHTTPURL reports whether raw is an http or https URL with a host, as
// the tracker wants its debug URL.
func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// strFormatField is a str.format field, "{asctime}" or "{levelname:8}".
var strFormatField = regexp.MustCompile(`\{(\w+)[^{}]*\}`)

// formatFields says, once, what in ERRLOG_FORMAT Python would not take
// or a reader would not expect: a template with no field at all (a
// str.format one, "{message}", is literal text in Python's % style), which
// would lose every message and is replaced by the default (it returns
// false), and the fields that are not Python's logging's (a typo, or a
// record attribute, which errlog prints and Python raises KeyError for).
func (e envReader) formatFields(format string, fields []logfile.Field) bool {
	if len(fields) == 0 {
		why := "no %(…) field, so no record's message would be shown"
		if strFormatField.MatchString(format) {
			why += " (a str.format template? write " + strFormatField.ReplaceAllString(format, "%($1)s") + ")"
		}
		e.bad("ERRLOG_FORMAT", format, why)
		return false
	}
	var attrs []string
	for _, f := range fields {
		if f.Attr {
			attrs = append(attrs, f.Text)
		}
	}
	switch len(attrs) {
	case 0:
	case 1:
		e.note("ERRLOG_FORMAT", "ERRLOG_FORMAT: "+attrs[0]+` is not a field of Python's logging (Python raises KeyError): errlog prints the record's attribute of that name, "-" without one`)
	default:
		e.note("ERRLOG_FORMAT", "ERRLOG_FORMAT: "+strings.Join(attrs, ", ")+` are not fields of Python's logging (Python raises KeyError): errlog prints the record's attribute of that name, "-" without one`)
	}
	return true
}
