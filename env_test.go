package errlog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestFromEnvEveryVariable(t *testing.T) {
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true }) // go test -count=N
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{
		"ERRLOG_LEVEL":               "debug",
		"ERRLOG_FORMAT":              "%(levelname)s %(message)s",
		"ERRLOG_DATE_FORMAT":         "%Y",
		"ERRLOG_FILE":                "/var/log/app.log",
		"ERRLOG_FILE_LEVEL":          "error",
		"ERRLOG_FILE_MAX_MB":         "10",
		"ERRLOG_FILE_BACKUPS":        "3",
		"ERRLOG_FILE_MAX_AGE_DAYS":   "7",
		"ERRLOG_FILE_COMPRESS":       "true",
		"ERRLOG_FILE_ROTATE":         "daily",
		"ERRLOG_SMTP_ADDR":           "mail.example.com:587",
		"ERRLOG_SMTP_USER":           "bot",
		"ERRLOG_SMTP_PASSWORD":       "pw",
		"ERRLOG_MAIL_FROM":           "app@example.com",
		"ERRLOG_MAIL_TO":             "a@example.com, b@example.com",
		"ERRLOG_MAIL_SUBJECT_PREFIX": "[shop] ",
		"ERRLOG_MAIL_ENABLED":        "false",
		"ERRLOG_MAIL_DIR":            "./mail",
		"ERRLOG_DSN":                 "http://key@localhost:9000/1",
		"ERRLOG_DEBUG_URL":           "http://localhost:9999/bin",
		"ERRLOG_SPOOL_DIR":           "/tmp/spool",
		"ERRLOG_MASK_KEYS":           "pin, ssn",
		"ERRLOG_MASK_WITH":           "###",
		"ERRLOG_TRACKED_STATUS":      "400-499,500-599",
		"ERRLOG_DEBUG":               "1",
		"ERRLOG_ENVIRONMENT":         "staging",
		"ERRLOG_RELEASE":             "v2",
		"ERRLOG_SERVER_NAME":         "web-1",
	}), &stderr)
	assert.Empty(t, stderr.String(), "nothing to say: mail is off, so its settings are not used")
	assert.Equal(t, slog.LevelDebug, o.Level)
	assert.Equal(t, "%(levelname)s %(message)s", o.Format)
	assert.Equal(t, "%Y", o.DateFormat)
	require.NotNil(t, o.File)
	assert.Equal(t, logfile.Options{Path: "/var/log/app.log", Level: slog.LevelError, MaxSizeMB: 10, MaxBackups: 3, MaxAgeDays: 7, Compress: true, Interval: 24 * time.Hour}, *o.File)
	require.NotNil(t, o.Mail)
	assert.Equal(t, "mail.example.com:587", o.Mail.Addr)
	assert.Equal(t, "bot", o.Mail.Username)
	assert.Equal(t, "pw", o.Mail.Password)
	assert.Equal(t, "app@example.com", o.Mail.From)
	assert.Equal(t, []string{"a@example.com", "b@example.com"}, o.Mail.To)
	assert.Equal(t, "[shop] ", o.Mail.SubjectPrefix)
	assert.True(t, o.Mail.Disabled, "ERRLOG_MAIL_ENABLED=false turns mail off and keeps its settings")
	assert.Equal(t, "./mail", o.Mail.Dir)
	require.NotNil(t, o.Tracker)
	assert.Equal(t, "http://key@localhost:9000/1", o.Tracker.DSN)
	assert.Equal(t, "http://localhost:9999/bin", o.Tracker.DebugURL)
	assert.Equal(t, "/tmp/spool", o.SpoolDir)
	assert.Equal(t, append(DefaultMaskKeys(), "pin", "ssn"), o.Mask.Keys, "besides the defaults")
	assert.Equal(t, "###", o.Mask.With)
	assert.Equal(t, []StatusRange{{400, 499}, {500, 599}}, o.TrackedStatus)
	assert.True(t, o.Debug)
	assert.Equal(t, "staging", o.Environment)
	assert.Equal(t, "v2", o.Release)
	assert.Equal(t, "web-1", o.ServerName)
}

func TestFromEnvDefaults(t *testing.T) {
	var stderr bytes.Buffer
	o := fromEnv(envOf(nil), &stderr)
	assert.Empty(t, stderr.String())
	assert.Nil(t, o.Level, "zero: the default, set by resolveOptions alone")
	assert.Equal(t, slog.LevelInfo, resolveOptions(o).Level)
	assert.Nil(t, o.File)
	assert.Nil(t, o.Mail)
	assert.Nil(t, o.Tracker)
	assert.Empty(t, o.SpoolDir, "no spool without mail or tracker")
	assert.Nil(t, o.Mask.Keys, "nil: the default keys")
	assert.False(t, o.Debug)

	o = fromEnv(envOf(map[string]string{"ERRLOG_DSN": "http://k@h/1"}), &stderr)
	assert.Contains(t, o.SpoolDir, "errlog", "the spool defaults to the OS cache dir")
	assert.True(t, o.CrashReports, "FromEnv turns crash reports on")
	o = fromEnv(envOf(map[string]string{"ERRLOG_CRASH_REPORTS": "off"}), &stderr)
	assert.False(t, o.CrashReports)

	// A blank ERRLOG_MASK_KEYS must not turn masking off.
	for _, blank := range []string{"", " ", ", ,"} {
		o = fromEnv(envOf(map[string]string{"ERRLOG_MASK_KEYS": blank}), &stderr)
		assert.Nil(t, o.Mask.Keys, "%q keeps the default keys", blank)
	}
	o = fromEnv(envOf(map[string]string{"ERRLOG_MASK_KEYS": "pin, otp"}), &stderr)
	assert.Equal(t, append(DefaultMaskKeys(), "pin", "otp"), o.Mask.Keys)
}

// ERRLOG_MASK_KEYS names more keys to mask: naming a session key keeps
// passwords masked; a pattern is taken as a name, and said so once.
func TestFromEnvMaskKeysAdd(t *testing.T) {
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{"ERRLOG_MASK_KEYS": "version,sid"}), &stderr)
	assert.Contains(t, o.Mask.Keys, "password")
	assert.Contains(t, o.Mask.Keys, "version")
	var out bytes.Buffer
	h := NewHandler(Options{Console: &out, Mask: o.Mask})
	defer h.Close(context.Background())
	slog.New(h).Error("login failed", "password", "PW-SECRET", "version", "v9")
	assert.NotContains(t, out.String(), "PW-SECRET")
	assert.NotContains(t, out.String(), "v9")

	stderr.Reset()
	fromEnv(envOf(map[string]string{"ERRLOG_MASK_KEYS": "/pass.*/"}), &stderr)
	assert.Contains(t, stderr.String(), "ERRLOG_MASK_KEYS takes key names, not patterns")
}

func TestFromEnvMalformedReportedOnceAndDefaulted(t *testing.T) {
	env := envOf(map[string]string{
		"ERRLOG_LEVEL":       "loud",
		"ERRLOG_FILE":        "app.log",
		"ERRLOG_FILE_MAX_MB": "ten",
		// Negative: no file at all before (logfile refused it, under
		// Options' name).
		"ERRLOG_FILE_MAX_AGE_DAYS": "-1",
		"ERRLOG_FILE_COMPRESS":     "maybe",
		"ERRLOG_SMTP_ADDR":         "mail.example.com:smtp",
		"ERRLOG_TRACKED_STATUS":    "5xx",
		"ERRLOG_FORMAT":            "%(levelname",
		"ERRLOG_DEBUG":             "sure",
	})
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true }) // go test -count=N
	var stderr bytes.Buffer
	o := fromEnv(env, &stderr)
	out := stderr.String()
	for _, name := range []string{"ERRLOG_LEVEL", "ERRLOG_FILE_MAX_MB", "ERRLOG_FILE_MAX_AGE_DAYS", "ERRLOG_FILE_COMPRESS", "ERRLOG_SMTP_ADDR", "ERRLOG_TRACKED_STATUS", "ERRLOG_FORMAT", "ERRLOG_DEBUG"} {
		assert.Contains(t, out, "errlog: "+name+"=", "the report names the variable")
	}
	assert.Nil(t, o.Level, "zero: the default")
	assert.Equal(t, slog.LevelInfo, resolveOptions(o).Level)
	assert.Zero(t, o.File.MaxSizeMB, "zero: the default, 100")
	assert.Zero(t, o.File.MaxAgeDays, "zero: the default, keep them")
	assert.False(t, o.File.Compress)
	assert.Nil(t, o.Mail)
	assert.Nil(t, o.TrackedStatus)
	assert.Empty(t, o.Format)
	assert.False(t, o.Debug)

	stderr.Reset()
	fromEnv(env, &stderr)
	assert.Empty(t, stderr.String(), "each malformed value is reported once")
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"DEBUG": slog.LevelDebug, "info": slog.LevelInfo, "Warning": slog.LevelWarn, "warn": slog.LevelWarn,
		"error": slog.LevelError, "critical": slog.LevelError + 4, "30": slog.LevelWarn, "50": slog.LevelError + 4,
		"WARN+2": slog.LevelWarn + 2,
	} {
		got, err := ParseLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseLevel("loud")
	assert.Error(t, err)
}

// Debug mode is Flask's DEBUG: no mail, no tracker, unless a debug URL is
// set, which still receives events.
func TestDebugModeKeepsMailAndTrackerOff(t *testing.T) {
	dir := t.TempDir()
	var reported []error
	h := NewHandler(Options{
		Console:         io.Discard,
		Debug:           true,
		Mail:            &MailOptions{Dir: dir},
		Tracker:         &tracker.Options{DSN: "http://key@127.0.0.1:1/1"},
		OnDeliveryError: func(err error) { reported = append(reported, err) },
	})
	slog.New(h).Error("in debug mode")
	require.NoError(t, h.Close(context.Background()))
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	assert.Empty(t, files, "no mail in debug mode")
	assert.Empty(t, reported, "and no attempt to reach the tracker")
	assert.Empty(t, h.c.sinks)
}

// Without a cache directory (no HOME nor XDG_CACHE_HOME: a service run
// with env -i, a unit without User=), FromEnv says that it has no spool,
// once, naming ERRLOG_SPOOL_DIR; it went on in memory without a word.
func TestFromEnvNoCacheDirSaysNoSpool(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	env := envOf(map[string]string{"ERRLOG_DSN": "https://k@errors.example.com/1"})
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(env, &stderr)
	assert.Empty(t, o.SpoolDir)
	assert.Contains(t, stderr.String(), "errlog: no spool: ")
	assert.Contains(t, stderr.String(), "kept in memory only, and lost at exit (set ERRLOG_SPOOL_DIR)")
	stderr.Reset()
	fromEnv(env, &stderr)
	assert.Empty(t, stderr.String(), "said once")

	// With a spool directory set, nothing to say.
	env = envOf(map[string]string{"ERRLOG_DSN": "https://k@errors.example.com/1", "ERRLOG_SPOOL_DIR": t.TempDir()})
	fromEnv(env, &stderr)
	assert.Empty(t, stderr.String())
}

// ERRLOG_MAIL_DIR takes the mail instead of ERRLOG_SMTP_ADDR's server:
// when both are set, FromEnv says so, once.
func TestFromEnvMailDirAndSMTPAddr(t *testing.T) {
	env := envOf(map[string]string{"ERRLOG_SMTP_ADDR": "smtp.example.com:587", "ERRLOG_MAIL_DIR": "mail", "ERRLOG_SPOOL_DIR": t.TempDir()})
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(env, &stderr)
	require.NotNil(t, o.Mail)
	assert.Equal(t, "mail", o.Mail.Dir)
	assert.Equal(t, `errlog: ERRLOG_MAIL_DIR="mail" writes mail to files: ERRLOG_SMTP_ADDR="smtp.example.com:587" is not used (unset one)`+"\n", stderr.String())
	stderr.Reset()
	fromEnv(env, &stderr)
	assert.Empty(t, stderr.String(), "said once")
}

// A bad level lists what is accepted: every word and number ParseLevel
// takes (docs/configuration.md's table says the same).
func TestFromEnvBadLevelListsWhatIsAccepted(t *testing.T) {
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{"ERRLOG_LEVEL": "99"}), &stderr)
	assert.Nil(t, o.Level)
	assert.Equal(t, `errlog: ERRLOG_LEVEL="99": not a level: want debug, info, warn (or warning), error, critical (or fatal), Python's numbers 0 to 50 in steps of 5 (10 debug, 20 info, 30 warn, 40 error, 50 critical), or slog's form, as WARN+2; using the default`+"\n", stderr.String())
	for _, ok := range []string{"debug", "INFO", "warning", "error", "critical", "fatal", "0", "10", "25", "50", "WARN+2", "error-1"} {
		_, err := ParseLevel(ok)
		assert.NoError(t, err, "%s, as the message says", ok)
	}
}

// fromEnvOnce reads env as FromEnv would, checks that a second reading
// reports nothing more, and builds a Handler from it, which must report
// nothing either: one report per problem, FromEnv's, naming the variable.
func fromEnvOnce(t *testing.T, env map[string]string) (Options, string, *Handler) {
	t.Helper()
	o, out, h, reported := fromEnvThenNew(t, env)
	assert.Empty(t, reported, "New says nothing FromEnv said")
	return o, out, h
}

// fromEnvThenNew is fromEnvOnce, returning what New reported.
func fromEnvThenNew(t *testing.T, env map[string]string) (Options, string, *Handler, []error) {
	t.Helper()
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	if _, ok := env["ERRLOG_SPOOL_DIR"]; !ok {
		env["ERRLOG_SPOOL_DIR"] = t.TempDir()
	}
	var stderr bytes.Buffer
	o := fromEnv(envOf(env), &stderr)
	out := stderr.String()
	stderr.Reset()
	fromEnv(envOf(env), &stderr)
	assert.Empty(t, stderr.String(), "reported once")
	var reported []error
	o.Console = io.Discard
	o.OnDeliveryError = func(err error) { reported = append(reported, err) }
	h := NewHandler(o)
	t.Cleanup(func() { h.Close(context.Background()) })
	return o, out, h, reported
}

// A mail setting that is wrong is reported under its variable's name,
// saying what happens: a bad sender falls back to the default one, bad
// recipients are left out, and mail is off, said so, only when no
// recipient is left. errlog reported these from New, as
// "errlog: smtp: mail: sender …", naming neither the variable nor the
// consequence.
func TestFromEnvBadMailSettingsNamedWithTheirConsequence(t *testing.T) {
	smtp := func(kv ...string) map[string]string {
		m := map[string]string{"ERRLOG_SMTP_ADDR": "localhost:25"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	t.Run("sender", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, smtp("ERRLOG_MAIL_TO", "ops@example.com", "ERRLOG_MAIL_FROM", "not an address"))
		assert.Equal(t, `errlog: ERRLOG_MAIL_FROM="not an address": not an email address (no angle-addr); mail is sent from the default sender, errlog@ and the host name`+"\n", out)
		require.NotNil(t, o.Mail)
		assert.Empty(t, o.Mail.From)
		assert.Len(t, h.c.sinks, 1, "mail is on")
	})
	t.Run("only bad recipients", func(t *testing.T) {
		o, out, h, reported := fromEnvThenNew(t, smtp("ERRLOG_MAIL_TO", "bad@@x,,"))
		assert.Equal(t, `errlog: ERRLOG_MAIL_TO="bad@@x,,": "bad@@x" is not an email address; left out`+"\n", out)
		require.NotNil(t, o.Mail, "kept, for the program to set recipients")
		assert.Empty(t, h.c.sinks)
		require.Len(t, reported, 1)
		assert.Equal(t, "errlog: smtp: no recipient (Options.Mail.To, or ERRLOG_MAIL_TO); error mail is off", reported[0].Error())
	})
	t.Run("a bad recipient among good ones", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, smtp("ERRLOG_MAIL_TO", "ops@example.com, bad@@x, dev@example.com, oops"))
		assert.Equal(t, `errlog: ERRLOG_MAIL_TO="ops@example.com, bad@@x, dev@example.com, oops": "bad@@x", "oops" are not email addresses; mail goes to the others: ops@example.com, dev@example.com`+"\n", out)
		require.NotNil(t, o.Mail)
		assert.Equal(t, []string{"ops@example.com", "dev@example.com"}, o.Mail.To)
		assert.Len(t, h.c.sinks, 1)
	})
	for name, env := range map[string]map[string]string{"empty recipients": smtp("ERRLOG_MAIL_TO", ""), "no recipients": smtp()} {
		t.Run(name, func(t *testing.T) {
			o, out, h, reported := fromEnvThenNew(t, env)
			assert.Empty(t, out, "New says it")
			require.NotNil(t, o.Mail, "kept, for the program to set recipients")
			assert.Empty(t, h.c.sinks)
			require.Len(t, reported, 1)
			assert.Equal(t, "errlog: smtp: no recipient (Options.Mail.To, or ERRLOG_MAIL_TO); error mail is off", reported[0].Error())
		})
	}
	t.Run("recipients set by the program", func(t *testing.T) {
		envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
		var stderr bytes.Buffer
		o := fromEnv(envOf(smtp()), &stderr)
		o.Mail.To = []string{"ops@example.com"} // as a program may, after FromEnv
		o.Console = io.Discard
		var reported []error
		o.OnDeliveryError = func(err error) { reported = append(reported, err) }
		h := NewHandler(o)
		defer h.Close(context.Background())
		assert.Empty(t, reported)
		assert.Len(t, h.c.sinks, 1, "mail is on")
	})
	t.Run("mail off anyway", func(t *testing.T) {
		_, out, _ := fromEnvOnce(t, smtp("ERRLOG_MAIL_ENABLED", "false"))
		assert.Empty(t, out, "ERRLOG_MAIL_ENABLED=false: the settings are not used, nothing to say")
	})
	t.Run("mail directory while mail is off", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "mail")
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_MAIL_DIR": dir, "ERRLOG_MAIL_ENABLED": "off"})
		assert.Empty(t, out)
		assert.NoDirExists(t, dir, "mail is off: its directory is not made")
		require.NotNil(t, o.Mail)
		assert.True(t, o.Mail.Disabled)
		assert.Equal(t, dir, o.Mail.Dir)
		require.NoError(t, h.Close(context.Background()))
	})
	t.Run("mail directory without recipients", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_MAIL_DIR": t.TempDir(), "ERRLOG_MAIL_TO": "bad@@x"})
		assert.Equal(t, `errlog: ERRLOG_MAIL_TO="bad@@x": "bad@@x" is not an email address; mail files are addressed to errlog@localhost`+"\n", out)
		require.NotNil(t, o.Mail)
		assert.Empty(t, o.Mail.To)
		assert.Len(t, h.c.sinks, 1)
	})
	t.Run("mail directory that cannot be made", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		dir := filepath.Join(file, "mail")
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_MAIL_DIR": dir})
		assert.Equal(t, `errlog: ERRLOG_MAIL_DIR="`+dir+`": mkdir `+file+`: not a directory; error mail is off`+"\n", out)
		assert.Nil(t, o.Mail)
		assert.Empty(t, h.c.sinks)

		// With a server to fall back on, mail goes there.
		o, out, h = fromEnvOnce(t, smtp("ERRLOG_MAIL_DIR", dir, "ERRLOG_MAIL_TO", "ops@example.com"))
		assert.Equal(t, `errlog: ERRLOG_MAIL_DIR="`+dir+`": mkdir `+file+`: not a directory; mail goes to ERRLOG_SMTP_ADDR="localhost:25" instead`+"\n", out)
		require.NotNil(t, o.Mail)
		assert.Empty(t, o.Mail.Dir)
		assert.Len(t, h.c.sinks, 1)
	})
	t.Run("user without password", func(t *testing.T) {
		o, out, _ := fromEnvOnce(t, smtp("ERRLOG_MAIL_TO", "ops@example.com", "ERRLOG_SMTP_USER", "bot"))
		assert.Equal(t, "errlog: ERRLOG_SMTP_USER is set without ERRLOG_SMTP_PASSWORD: SMTP AUTH with an empty password\n", out)
		assert.Equal(t, "bot", o.Mail.Username)
	})
	t.Run("password without user", func(t *testing.T) {
		_, out, _ := fromEnvOnce(t, smtp("ERRLOG_MAIL_TO", "ops@example.com", "ERRLOG_SMTP_PASSWORD", "s3cret"))
		assert.Equal(t, "errlog: ERRLOG_SMTP_PASSWORD is set without ERRLOG_SMTP_USER: no SMTP AUTH, the password is not used\n", out)
		assert.NotContains(t, out, "s3cret")
	})
}

// A DSN or a debug URL that cannot be used is reported under its
// variable's name, without its value (a DSN's key is a credential; a
// debug URL may hold one), saying where events go; the other still
// works. errlog reported them from New as the tracker's ("DebugURL is
// not…", naming the Go field), and one bad kept the other from working.
func TestFromEnvBadDSNOrDebugURLNamed(t *testing.T) {
	t.Run("DSN", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_DSN": "not-a-dsn"})
		assert.Equal(t, "errlog: ERRLOG_DSN: DSN must start with http:// or https:// (https://KEY@host/PROJECT); events are not sent to a tracker\n", out)
		assert.Nil(t, o.Tracker)
		assert.Empty(t, h.c.sinks)
	})
	t.Run("DSN with a key", func(t *testing.T) {
		_, out, _ := fromEnvOnce(t, map[string]string{"ERRLOG_DSN": "sekrit@errors.example.com/1"})
		assert.NotContains(t, out, "sekrit")
		assert.Contains(t, out, "errlog: ERRLOG_DSN: ")
	})
	t.Run("debug URL", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_DEBUG_URL": "notaurl"})
		assert.Equal(t, "errlog: ERRLOG_DEBUG_URL is not an http:// or https:// URL; events are not posted to it\n", out)
		assert.Nil(t, o.Tracker)
		assert.Empty(t, h.c.sinks)
	})
	t.Run("bad DSN, good debug URL", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_DSN": "not-a-dsn", "ERRLOG_DEBUG_URL": "http://127.0.0.1:1/bin"})
		assert.Equal(t, "errlog: ERRLOG_DSN: DSN must start with http:// or https:// (https://KEY@host/PROJECT); events go to ERRLOG_DEBUG_URL only\n", out)
		require.NotNil(t, o.Tracker)
		assert.Empty(t, o.Tracker.DSN)
		assert.Len(t, h.c.sinks, 1)
	})
	t.Run("good DSN, bad debug URL", func(t *testing.T) {
		o, out, h := fromEnvOnce(t, map[string]string{"ERRLOG_DSN": "http://key@127.0.0.1:1/1", "ERRLOG_DEBUG_URL": "ftp://x/y"})
		assert.Equal(t, "errlog: ERRLOG_DEBUG_URL is not an http:// or https:// URL; events are not posted to it\n", out)
		require.NotNil(t, o.Tracker)
		assert.Empty(t, o.Tracker.DebugURL)
		assert.Len(t, h.c.sinks, 1, "the DSN's tracker still works")
	})
}

// ERRLOG_FORMAT names a field Python's logging does not have: it is a
// record attribute to errlog, and Python raises KeyError; said once, the
// template kept. A str.format template ("{message}") has no %(…) field at
// all, and would print its text for every record and lose the message:
// said once, and the default format used. Neither was said.
func TestFromEnvFormatFields(t *testing.T) {
	o, out, _ := fromEnvOnce(t, map[string]string{"ERRLOG_FORMAT": "%(nosuch)s %(message)s %(nosuch)s %(user_id)d"})
	assert.Equal(t, `errlog: ERRLOG_FORMAT: %(nosuch)s, %(user_id)d are not fields of Python's logging (Python raises KeyError): errlog prints the record's attribute of that name, "-" without one`+"\n", out)
	assert.Equal(t, "%(nosuch)s %(message)s %(nosuch)s %(user_id)d", o.Format, "kept: an attribute is a field errlog has")

	o, out, _ = fromEnvOnce(t, map[string]string{"ERRLOG_FORMAT": "{asctime} {message}"})
	assert.Equal(t, `errlog: ERRLOG_FORMAT="{asctime} {message}": no %(…) field, so no record's message would be shown (a str.format template? write %(asctime)s %(message)s); using the default`+"\n", out)
	assert.Empty(t, o.Format)

	_, out, _ = fromEnvOnce(t, map[string]string{"ERRLOG_FORMAT": "%(asctime)s %(levelname)-8s %(name)s %(url)s %(message)s"})
	assert.Empty(t, out, "Python's fields and errlog's request fields are known")
}
