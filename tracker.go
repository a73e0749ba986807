package errlog

import "errors"

// TrackerOptions configure the Sentry-protocol tracker. (Being written: issue 4.)
type TrackerOptions struct {
	DSN      string
	DebugURL string
}

func newTrackerSink(o TrackerOptions, env sinkEnv) (EventSink, error) {
	return nil, errors.New("errlog: tracker: not built yet")
}
