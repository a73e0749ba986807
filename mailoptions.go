package errlog

import (
	"io"

	"github.com/errlog/errlog/mail"
)

// Error mail, as Python's SMTPHandler sends it but without its two
// failures: one mail per record (a weekend's storm is 100,000 mails) and a
// caller that waits on the mail server. Events are throttled
// (mail.Throttle) into first occurrences, digests and summaries; each
// becomes one RFC 5322 message (mail.Composer), handed to a delivery
// queue whose one worker keeps an SMTP connection open across a burst
// (mail.Transport). The sink itself is noticesink.go.

// MailOptions configure error mail: the server, the addresses, the
// subject and the transport (package mail documents every field). The
// zero value, with Addr (or Dir) and To set, is all defaults: STARTTLS
// when the server offers it, the first occurrence of each error mailed at
// once, its repeats counted into a digest every 10 minutes, at most 20
// mails an hour (Options.Throttle sets those). A storm of 10,000
// identical errors gives two mails: the first, and a digest that says
// "… and 9999 more times".
//
// FromEnv reads it from ERRLOG_SMTP_ADDR, ERRLOG_SMTP_USER,
// ERRLOG_SMTP_PASSWORD, ERRLOG_SMTP_TLS, ERRLOG_SMTP_CA_FILE,
// ERRLOG_MAIL_FROM, ERRLOG_MAIL_TO, ERRLOG_MAIL_SUBJECT_PREFIX,
// ERRLOG_MAIL_ENABLED and ERRLOG_MAIL_DIR. With Disabled set, Notifiers
// and Ticketers still work.
//
// errlog.NewHandler(errlog.Options{Console: io.Discard, Mail: &m}) is error
// mail on its own, as a slog.Handler: NewMailHandler.
type MailOptions = mail.Options

// ThrottleOptions pace error mail, Notifiers and Ticketers: the digest
// window, the hourly cap and the backoff of retries (package mail
// documents every field). Options.Throttle; the zero value is all
// defaults.
type ThrottleOptions = mail.ThrottleOptions

// DefaultSubjectPrefix starts the subject of every error mail.
const DefaultSubjectPrefix = mail.DefaultSubjectPrefix

// DefaultMailWindow is the default digest window: repeats of a group
// within it after a notice are counted into one digest sent when it ends.
const DefaultMailWindow = mail.DefaultWindow

// DefaultMaxMailsPerHour is the default cap on the notices (mails, and
// notifications to each Notifier) of any one hour, digests and summaries
// included.
const DefaultMaxMailsPerHour = mail.DefaultMaxPerHour

// NewMailHandler returns a Handler that does error mail and nothing else,
// as Python's SMTPHandler: no console, no file; records at ERROR and above
// are mailed, throttled. It is NewHandler(Options{Console: io.Discard,
// Mail: &opts}): use NewHandler for other levels or more sinks. Close it
// (or call Flush) before the program exits, so that pending digests go
// out.
func NewMailHandler(opts MailOptions) *Handler {
	return NewHandler(Options{Console: io.Discard, Mail: &opts})
}
