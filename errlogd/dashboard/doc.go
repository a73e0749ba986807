// Package dashboard is errlog's web dashboard, the page at /dev/error
// where a developer sees what broke: the groups (issues) of a store.Store
// with their counts and trends, and each group's events with the stack
// trace, the request and everything else the event carries.
//
// The same http.Handler serves errlogd's dashboard and an application's
// own ("in-app" mode), mounted on the application's mux at its own prefix
// on the store its errlog handler records into:
//
//	st, _ := sqlite.Open(ctx, "errors.db", sqlite.Options{})
//	opts := errlog.FromEnv()
//	opts.Sinks = append(opts.Sinks, st)
//	slog.SetDefault(errlog.New(opts))
//	mux.Handle("/dev/error/", dashboard.Handler(st, dashboard.Options{Prefix: "/dev/error"}))
//
// # Safety
//
// A request is served when Options.Authorize accepts it (the
// application's own login), or when it carries a session cookie from the
// login form or HTTP Basic credentials (user "admin") matching
// Options.Password; failed passwords, by the form or Basic, are limited
// per client address. With neither Authorize nor Password, only requests
// from a loopback address, to a loopback name (DNS rebinding), that no
// proxy forwarded are served: a development machine. Every state change
// is a POST with a CSRF token;
// every page is rendered by html/template into a buffer, with a strict
// Content-Security-Policy (no script at all), X-Frame-Options DENY and
// Referrer-Policy no-referrer.
//
// # Pages
//
//	GET  {prefix}/                     groups: filters, search, sort, cursor pages (?trace=ID: a trace's; ?q=EVENT-ID: that event)
//	GET  {prefix}/groups/{id}          a group and its latest event (?event=ID for another)
//	GET  {prefix}/events/{id}/json     an event's JSON as stored
//	POST {prefix}/groups/{id}/status   resolve, ignore, reopen
//	POST {prefix}/groups/{id}/delete   delete a group and its events
//	POST {prefix}/groups/status        bulk resolve or ignore, back to the first page
//	GET  {prefix}/login, POST {prefix}/login, POST {prefix}/logout
//
// # Traces
//
// An event with a trace (contexts.trace, from errlog's OpenTelemetry hook,
// sentry-go or the JS SDKs) shows its trace and span ids, linked to the
// tracing UI by Options.TraceURL and to the issues of the same trace; the
// group page lists its latest events' traces (docs/tracing.md).
package dashboard
