package errlog

import (
	"context"

	"github.com/errlog/errlog/event"
)

// requestInfo is what Middleware records of a request, once per request;
// every record logged with the request's context points to it.
type requestInfo struct {
	// Method, URL (absolute: scheme and host included), RemoteAddr and
	// Route (the ServeMux pattern, when there is one) are set before the
	// application's handler runs and never change.
	Method, URL, RemoteAddr, Route string
}

type requestKey struct{}

// requestFromContext returns the request Middleware put in ctx, or nil.
func requestFromContext(ctx context.Context) *requestInfo {
	if ctx == nil {
		return nil
	}
	ri, _ := ctx.Value(requestKey{}).(*requestInfo)
	return ri
}

// recordExtras is what the handler chain knows of a record beyond
// slog.Record, computed once and shared by every text sink.
type recordExtras struct {
	// req is the request the record was logged in, nil outside one.
	req *requestInfo
	// stack is the stack trace, caller to callee; nil below ErrorLevel.
	stack []event.Frame
}
