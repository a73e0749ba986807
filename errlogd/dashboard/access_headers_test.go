package dashboard

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/errlog/errlog/errlogd/api"
	"github.com/stretchr/testify/assert"
)

// realIP is chi's middleware.RealIP (github.com/go-chi/chi/v5 v5.5.0,
// middleware/realip.go, in chi's README stack), copied: it sets
// RemoteAddr to True-Client-IP, else X-Real-IP, else the first
// X-Forwarded-For, and leaves the header in place.
func realIP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := r.Header.Get("True-Client-IP")
		if ip == "" {
			ip = r.Header.Get("X-Real-IP")
		}
		if ip != "" && net.ParseIP(ip) != nil {
			r.RemoteAddr = ip
		}
		h.ServeHTTP(w, r)
	})
}

// TestLoopbackOnlyBehindRealIP: an application mounts the dashboard (and
// the API) with no password, as doc.go shows, in a chi router using
// middleware.RealIP. A client on the internet that sends
// "True-Client-IP: 127.0.0.1" and "Host: localhost" is served: Local
// looks for X-Forwarded-For, Forwarded, X-Real-Ip and X-Forwarded-Host,
// not True-Client-IP, and takes a RemoteAddr without a port (which
// net/http never makes: a middleware rewrote it) for a connection's.
// With the real chi v5.5.0 the dashboard answered 200 (403 for
// X-Real-IP).
func TestLoopbackOnlyBehindRealIP(t *testing.T) {
	st := openStore(t)
	mux := http.NewServeMux()
	mux.Handle("/dev/error/api/", api.New(st, api.Options{Prefix: "/dev/error"}))
	mux.Handle("/dev/error/", Handler(st, Options{Prefix: "/dev/error"}))
	h := realIP(mux)
	for _, path := range []string{"/dev/error/", "/dev/error/api/groups"} {
		for _, hdr := range []string{"X-Real-IP", "True-Client-IP"} {
			req := httptest.NewRequest("GET", "http://localhost"+path, nil)
			req.RemoteAddr = "203.0.113.7:41000" // a client on the internet
			req.Header.Set(hdr, "127.0.0.1")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			assert.NotEqual(t, http.StatusOK, w.Code, "%s with %s: 127.0.0.1 from 203.0.113.7", path, hdr)
		}
	}
}
