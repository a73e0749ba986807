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
//
// A RemoteAddr without a port is not a connection's (net/http always
// gives one): a middleware rewrote it from a header (chi's RealIP takes
// True-Client-IP), so it is not trusted; nor is a request carrying any
// header that proxies and CDNs name the client with.
func Local(r *http.Request) bool {
	for _, h := range forwardHeaders {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	return LoopbackAddr(host) && localHost(r.Host)
}

// forwardHeaders name a request's client on behalf of a proxy, a CDN or a
// middleware that reads them.
var forwardHeaders = []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host",
	"True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip", "Fastly-Client-Ip", "X-Cluster-Client-Ip",
	"X-Original-Forwarded-For", "X-Forwarded"}

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

// Limiter bounds password guesses, per client and in all: a password is
// checked only after Allow has counted the guess, so that the total holds
// however many addresses an attacker has (IPv6 gives anyone millions).
// A client is an IPv4 address or an IPv6 /64, what one host gets; its
// network an IPv4 /24 or an IPv6 /48, what one site or provider's
// customer gets. The zero value allows 5 guesses a minute per client, 10
// per network and 50 in all.
//
// The admin is not locked out by an attack: a session cookie is checked
// before any password; a client that logged in lately (the 16 latest) is
// held only to its own limit, not to the total; an attacker on one
// network takes at most a fifth of the total, so that the admin elsewhere
// still gets in; and when attackers on many networks take it all, anyone
// else waits for its next free guess, one every 60s/Total, which
// Retry-After tells. The table of clients is bounded and never reset wholesale: past
// maxClients, new clients are held to the total only.
type Limiter struct {
	// PerMinute is how many failed guesses one client may make a minute.
	// Default 5.
	PerMinute int
	// Total is how many guesses may be checked a minute from every client
	// together, those that logged in lately aside. Default 10 times
	// PerMinute.
	Total int

	mu      sync.Mutex
	clients map[string]*attempts
	tokens  float64   // of the total, refilled at Total a minute
	tokenAt time.Time // when tokens was last refilled
	known   map[string]time.Time
	pruned  time.Time // when the clients were last pruned
}

const (
	maxClients = 10000
	maxKnown   = 16
	knownFor   = 30 * 24 * time.Hour
)

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

func (l *Limiter) total() float64 {
	if l.Total > 0 {
		return float64(l.Total)
	}
	return float64(10 * l.per())
}

func (l *Limiter) perNet() int { return max(l.per(), int(l.total())/5) }

// netKey is the network of a client (ClientKey): its IPv4 /24 or IPv6 /48.
func netKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		return "net " + host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String() + "/24"
	}
	return ip.Mask(net.CIDRMask(48, 128)).String() + "/48"
}

// ClientKey is the client a remote address is counted as: an IPv4
// address, or the /64 of an IPv6 address.
func ClientKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// Allow counts a guess from addr and reports whether its password may be
// checked now; when not, how long until it may. Call Succeeded when the
// password was right.
func (l *Limiter) Allow(addr string, now time.Time) (bool, time.Duration) {
	key := ClientKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil {
		l.clients = map[string]*attempts{}
		l.known = map[string]time.Time{}
		l.tokens, l.tokenAt = l.total(), now
	}
	if wait, over := l.over(key, l.per(), now); over {
		return false, wait
	}
	known := l.isKnown(key, now)
	nk := netKey(addr)
	if !known {
		if wait, over := l.over(nk, l.perNet(), now); over {
			return false, wait
		}
		l.refill(now)
		if l.tokens < 1 {
			return false, time.Duration((1 - l.tokens) * float64(time.Minute) / l.total())
		}
		l.tokens--
		l.count(nk, now)
	}
	l.count(key, now)
	return true, 0
}

// over reports whether key has made its n guesses this minute, and how
// long until its minute ends.
func (l *Limiter) over(key string, n int, now time.Time) (time.Duration, bool) {
	a := l.clients[key]
	if a != nil && now.Sub(a.start) < time.Minute && !now.Before(a.start) && a.n >= n {
		return a.start.Add(time.Minute).Sub(now), true
	}
	return 0, false
}

// count counts a guess of key (a client or a network). A full table
// takes no new key: the total still holds.
func (l *Limiter) count(key string, now time.Time) {
	a := l.clients[key]
	if a == nil {
		if len(l.clients) >= maxClients && now.Sub(l.pruned) >= time.Second {
			l.prune(now)
			l.pruned = now
		}
		if len(l.clients) >= maxClients {
			return
		}
		a = &attempts{start: now}
		l.clients[key] = a
	}
	window(a, now).n++
}

// Succeeded takes back the guess Allow counted for addr, whose password
// was right, and remembers addr's client as the admin's.
func (l *Limiter) Succeeded(addr string, now time.Time) {
	key := ClientKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.clients[key]; a != nil && a.n > 0 {
		a.n--
	}
	if !l.isKnown(key, now) {
		l.tokens = min(l.tokens+1, l.total())
		if a := l.clients[netKey(addr)]; a != nil && a.n > 0 {
			a.n--
		}
	}
	if l.known == nil {
		l.known = map[string]time.Time{}
	}
	if _, ok := l.known[key]; !ok && len(l.known) >= maxKnown {
		oldest := ""
		for k, t := range l.known {
			if oldest == "" || t.Before(l.known[oldest]) {
				oldest = k
			}
		}
		delete(l.known, oldest)
	}
	l.known[key] = now
}

func (l *Limiter) isKnown(key string, now time.Time) bool {
	t, ok := l.known[key]
	return ok && now.Sub(t) < knownFor
}

func (l *Limiter) refill(now time.Time) {
	if d := now.Sub(l.tokenAt); d > 0 {
		l.tokens = min(l.tokens+d.Minutes()*l.total(), l.total())
		l.tokenAt = now
	}
}

// prune forgets the clients whose minute is over.
func (l *Limiter) prune(now time.Time) {
	for k, a := range l.clients {
		if now.Sub(a.start) >= time.Minute || now.Before(a.start) {
			delete(l.clients, k)
		}
	}
}

func window(a *attempts, now time.Time) *attempts {
	if now.Sub(a.start) >= time.Minute || now.Before(a.start) {
		a.n, a.start = 0, now
	}
	return a
}
