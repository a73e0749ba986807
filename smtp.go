package errlog

import "errors"

// MailOptions configure error mail. (Being written: issue 3.)
type MailOptions struct{}

// newMailSink builds the mail sink; o is nil when only notifiers or
// ticketers are configured.
func newMailSink(o *MailOptions, env sinkEnv, notifiers []Notifier, ticketers []Ticketer) (EventSink, error) {
	return nil, errors.New("errlog: mail: not built yet")
}
