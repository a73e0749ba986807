package main

import (
	"fmt"
	"net/url"
	"strings"
)

// checkTraceURL refuses an ERRLOGD_TRACE_URL that would make broken
// links: not http(s), or without {trace_id}. "" is none.
func checkTraceURL(s string) error {
	if s == "" {
		return nil
	}
	if !strings.Contains(s, "{trace_id}") {
		return fmt.Errorf("errlogd: ERRLOGD_TRACE_URL (-trace-url) %q has no {trace_id} to replace: e.g. https://tempo.example.com/explore?traceId={trace_id}", s)
	}
	u, err := url.Parse(strings.NewReplacer("{trace_id}", "x", "{span_id}", "x").Replace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("errlogd: ERRLOGD_TRACE_URL (-trace-url) %q is not an http:// or https:// address", s)
	}
	return nil
}
