// Package access holds the checks errlogd's dashboard and JSON API share:
// who may in without a password (a loopback request that no proxy
// forwarded, addressed to a loopback name), the admin password compared
// in constant time, and a limit on password guesses.
package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Local reports whether r may be served without a password: it comes from
// a loopback address, no proxy forwarded it (a reverse proxy on the same
// machine connects from loopback on behalf of anyone), and its Host names
// this machine (a page on another site that rebinds its DNS name to
// 127.0.0.1 sends its own name).
func Local(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return LoopbackAddr(r.RemoteAddr) && localHost(r.Host)
}

// LoopbackAddr reports whether a host:port (or a host) is a loopback
// address or names one ("localhost").
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ClientAddr is the address a request came from, without its port.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// CheckPassword reports whether user and pass are the admin's. Digests are
// compared, so that the time taken says nothing of the password's length.
func CheckPassword(user, pass, password string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte("admin"))
	a, b := sha256.Sum256([]byte(pass)), sha256.Sum256([]byte(password))
	return u&subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// Limiter counts failed password guesses per client address and in all,
// per minute. The zero value allows 5 guesses a minute per address.
type Limiter struct {
	// PerMinute is how many failed guesses an address may make a minute;
	// ten times as many are allowed from every address together. Default 5.
	PerMinute int

	mu  sync.Mutex
	m   map[string]*attempts
	all attempts
}

type attempts struct {
	n     int
	start time.Time
}

func (l *Limiter) per() int {
	if l.PerMinute > 0 {
		return l.PerMinute
	}
	return 5
}

// Allow reports whether addr may try a password now; when not, how long
// until it may. Past ten times PerMinute failures a minute from every
// address together, an address that has failed this minute may not try
// again; one that has not (the admin, typing the password right) still
// may, so that an attack cannot lock the admin out.
func (l *Limiter) Allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[addr]
	if a == nil || window(a, now).n == 0 {
		return true, 0
	}
	if a.n >= l.per() {
		return false, a.start.Add(time.Minute).Sub(now)
	}
	if all := window(&l.all, now); all.n >= 10*l.per() {
		return false, all.start.Add(time.Minute).Sub(now)
	}
	return true, 0
}

// Failed counts a wrong guess from addr.
func (l *Limiter) Failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) > 10000 {
		l.m = map[string]*attempts{}
	}
	a := l.m[addr]
	if a == nil {
		a = &attempts{start: now}
		l.m[addr] = a
	}
	window(a, now).n++
	window(&l.all, now).n++
}

func window(a *attempts, now time.Time) *attempts {
	if now.Sub(a.start) >= time.Minute || now.Before(a.start) {
		a.n, a.start = 0, now
	}
	return a
}
