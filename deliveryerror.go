package errlog

import (
	"errors"
	"io"
	"strings"
	"time"

	"github.com/errlog/errlog/internal/settings"
)

// A DeliveryError is what Options.OnDeliveryError receives: a failure to
// write, send or keep a record or an event, and the part of errlog it
// happened in. Find it with errors.As:
//
//	var de *errlog.DeliveryError
//	if errors.As(err, &de) && de.Sink == "tracker" { … }
type DeliveryError struct {
	// Sink names the part that failed: "console", "file", "smtp" (error
	// mail), "notify" and "ticket" (Notifiers and Ticketers), "tracker",
	// "queue" (the event queue in front of mail, tracker and sinks),
	// "sink" (an Options.Sinks entry), "handler" (the handler chain
	// itself), or the part named by an option that could not be used;
	// empty when the report did not name one.
	Sink string
	// Op names what failed ("enqueue", "flush", "build", "deliver"), or
	// is empty when the failing part did not say.
	Op string
	// Err is the failure.
	Err error
}

// Error returns "errlog: Sink: Op: Err", without Sink or Op when empty.
func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("errlog: ")
	if e.Sink != "" {
		b.WriteString(e.Sink)
		b.WriteString(": ")
	}
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("<nil>")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *DeliveryError) Unwrap() error { return e.Err }

// asDeliveryError returns the DeliveryError in err's chain or, for an
// error that has none, one whose Sink is read from the text's "errlog:
// sink: " prefix (empty when there is none) and whose text is err's, with
// "errlog: " put in front if it lacked it. Only errlog's own reports
// reach it, so the text is errlog's, not a user's.
func asDeliveryError(err error) *DeliveryError {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de
	}
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "errlog: ")
	if !ok {
		return &DeliveryError{Err: prefixedError{text: msg, err: err}}
	}
	sink, tail, ok := strings.Cut(rest, ": ")
	if !ok || !settings.IsSinkName(sink) {
		return &DeliveryError{Err: prefixedError{text: rest, err: err}}
	}
	return &DeliveryError{Sink: sink, Err: prefixedError{text: tail, err: err}}
}

// prefixedError is an error of errlog's whose "errlog: sink: " prefix has
// moved into the DeliveryError around it: the same text, and the same
// chain for errors.Is and errors.As.
type prefixedError struct {
	text string
	err  error
}

func (e prefixedError) Error() string { return e.text }
func (e prefixedError) Unwrap() error { return e.err }

// typedReports passes every report to f as a *DeliveryError (see
// asDeliveryError), so that a hook can always use errors.As.
func typedReports(f func(error)) func(error) {
	return func(err error) {
		if err == nil {
			return
		}
		var de *DeliveryError
		if !errors.As(err, &de) {
			err = asDeliveryError(err)
		}
		f(err)
	}
}

// rateLimitedReporter writes one line to w per sink (DeliveryError.Sink)
// at most once per settings.ReportInterval (see settings.RateLimited).
func rateLimitedReporter(w io.Writer, now func() time.Time) func(error) {
	return settings.RateLimited(w, now, func(err error) string { return asDeliveryError(err).Sink })
}
