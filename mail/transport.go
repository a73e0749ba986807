package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/errlog/errlog/internal/delivery"
)

// A Transport sends composed messages: over SMTP (Options.Addr) or into a
// directory as .eml files (Options.Dir). Send's errors name the step that
// failed ("EHLO: …", "RCPT TO:<a@example.com>: 550 …"), for the caller to
// prefix with what it was doing; IsPermanent tells those that retrying
// cannot fix. A Transport is safe for concurrent use; sends are serial.
type Transport interface {
	// Send delivers m to m.To. A recipient the server refuses for good
	// (5xx) among others that it accepts is not an error: the mail went
	// out, and Env.OnError is told of the refusal. Recipients refused for
	// now (4xx: greylisting, a full mailbox) while others took the mail
	// are a *RetryRecipients error: the next try goes to them alone.
	Send(ctx context.Context, m *Message) error
	// Close releases what the transport keeps between sends (the SMTP
	// connection kept for the next mail of a burst). The transport stays
	// usable: the next Send connects again.
	Close() error
}

// Env is what a program gives a Transport besides Options.
type Env struct {
	// OnError is told what a Send's result cannot say: a mail sent, but
	// refused for some of its recipients. Default: nothing is told.
	OnError func(error)
	// ServerName is the EHLO name when Options.LocalName is empty.
	// Default: the host name.
	ServerName string
	// Now names the directory transport's files. Default time.Now.
	Now func() time.Time
	// AfterFunc runs the timer that closes an idle SMTP connection
	// (Options.IdleTimeout). Default time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

func (e Env) withDefaults() Env {
	if e.OnError == nil {
		e.OnError = func(error) {}
	}
	if e.ServerName == "" {
		e.ServerName, _ = os.Hostname()
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.AfterFunc == nil {
		e.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	return e
}

// NewTransport returns the transport o configures: the directory when Dir
// is set (created if missing), else SMTP to Addr. It connects to nothing
// yet.
func NewTransport(o Options, env Env) (Transport, error) {
	env = env.withDefaults()
	cfg, err := o.transportConfig(env.ServerName)
	if err != nil {
		return nil, err
	}
	if cfg.dir != "" {
		if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		return &dirTransport{dir: cfg.dir, now: env.Now}, nil
	}
	return &smtpTransport{cfg: cfg, env: env}, nil
}

// IsPermanent reports whether err, from Send, is a failure that retrying
// cannot fix: a 5xx reply, a server that offers no TLS where it is
// required, or no AUTH where a Username is set. A 4xx reply, a refused
// connection or a timeout are worth retrying.
func IsPermanent(err error) bool {
	return delivery.IsPermanent(err)
}

// ErrNoRecipient is the error of Send for a message without recipients,
// and of Options.Addresses for options without any.
var ErrNoRecipient = errors.New("mail: no recipient")

// Permanent marks err as a failure that retrying cannot fix, for
// IsPermanent: a message that cannot be addressed, say.
func Permanent(err error) error {
	return delivery.Permanent(err)
}

// RetryRecipients is Send's error when the server refused some of a
// mail's recipients for now (a 4xx reply to RCPT: greylisting, a full
// mailbox) and took the mail for the others, or refused those for good.
// It is temporary; the mail must be tried again for To alone, or the
// others would get it twice.
type RetryRecipients struct {
	To  []string // the recipients to try again
	Err error    // the server's replies
}

func (e *RetryRecipients) Error() string {
	return fmt.Sprintf("not yet taken for %s: %v", strings.Join(e.To, ", "), e.Err)
}

func (e *RetryRecipients) Unwrap() error { return e.Err }
