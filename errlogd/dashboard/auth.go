package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	sessionCookie = "errlog_session"
	csrfCookie    = "errlog_csrf"
	csrfField     = "csrf"
)

// auth is how a request was let in.
type auth struct {
	ok       bool
	session  string        // the session id, when by the login form
	badBasic bool          // Basic credentials were sent and were wrong
	limited  time.Duration // too many failed logins: retry after this
}

type authKey struct{}

func withAuth(ctx context.Context, a auth) context.Context {
	return context.WithValue(ctx, authKey{}, a)
}

func authFrom(ctx context.Context) auth {
	a, _ := ctx.Value(authKey{}).(auth)
	return a
}

// authenticate checks, in order: the application's Authorize, a session
// cookie, HTTP Basic credentials; with neither Authorize nor a password,
// a loopback request that no proxy forwarded.
func (s *server) authenticate(r *http.Request) auth {
	if s.opts.Authorize != nil && s.opts.Authorize(r) {
		return auth{ok: true}
	}
	if s.opts.Password != "" {
		if c, err := r.Cookie(sessionCookie); err == nil && s.sessions.valid(c.Value, s.opts.Now()) {
			return auth{ok: true, session: c.Value}
		}
		if user, pass, ok := r.BasicAuth(); ok {
			// Basic credentials are guesses too: the login form's limit
			// applies to them.
			now, addr := s.opts.Now(), clientAddr(r)
			if ok, wait := s.limiter.allow(addr, now); !ok {
				return auth{limited: wait}
			}
			if s.checkPassword(user, pass) {
				return auth{ok: true}
			}
			s.limiter.failed(addr, now)
			return auth{badBasic: true}
		}
		return auth{}
	}
	if s.opts.Authorize == nil && isLocal(r) && localHost(r.Host) {
		return auth{ok: true}
	}
	return auth{}
}

func (s *server) checkPassword(user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte("admin"))
	// Compare digests, so that the time taken says nothing of the length.
	a, b := sha256.Sum256([]byte(pass)), sha256.Sum256([]byte(s.opts.Password))
	return u&subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// isLocal reports whether r comes from a loopback address and was not
// forwarded by a proxy (a reverse proxy on the same machine connects from
// loopback on behalf of anyone).
func isLocal(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// localHost reports whether a Host header names this machine. A page on
// another site that rebinds its DNS name to 127.0.0.1 sends its own name:
// without this check it could read the dashboard.
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

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sessions are the logins of the form, in memory: a restart logs
// everyone out.
type sessions struct {
	mu sync.Mutex
	m  map[string]time.Time // id → expiry
}

const maxSessions = 10000

func (ss *sessions) create(now time.Time, ttl time.Duration) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		for id, exp := range ss.m {
			if !now.Before(exp) {
				delete(ss.m, id)
			}
		}
		for id := range ss.m { // still full: forget arbitrary ones
			if len(ss.m) < maxSessions {
				break
			}
			delete(ss.m, id)
		}
	}
	id := randomToken()
	ss.m[id] = now.Add(ttl)
	return id
}

func (ss *sessions) valid(id string, now time.Time) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.m[id]
	if ok && !now.Before(exp) {
		delete(ss.m, id)
		return false
	}
	return ok
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// limiter counts failed logins per client address and in all, per
// minute.
type limiter struct {
	mu  sync.Mutex
	per int
	m   map[string]*attempts
	all attempts
}

type attempts struct {
	n     int
	start time.Time
}

// allow reports whether addr may try a password now; when not, how long
// until it may.
func (l *limiter) allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.window(&l.all, now); a.n >= 10*l.per {
		return false, a.start.Add(time.Minute).Sub(now)
	}
	a := l.m[addr]
	if a == nil {
		return true, 0
	}
	if l.window(a, now); a.n >= l.per {
		return false, a.start.Add(time.Minute).Sub(now)
	}
	return true, 0
}

func (l *limiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) > 10000 {
		l.m = map[string]*attempts{}
	}
	a := l.m[addr]
	if a == nil {
		a = &attempts{start: now}
		l.m[addr] = a
	}
	l.window(a, now).n++
	l.window(&l.all, now).n++
}

func (l *limiter) window(a *attempts, now time.Time) *attempts {
	if now.Sub(a.start) >= time.Minute || now.Before(a.start) {
		a.n, a.start = 0, now
	}
	return a
}

// csrfToken returns the token forms carry: an HMAC of the browser's CSRF
// cookie, which it sets when missing. A forged form on another site can
// neither read the cookie nor compute the HMAC.
func (s *server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		v = c.Value
	} else if w != nil {
		v = randomToken()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: s.cookiePath(), HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteStrictMode})
		// The page being rendered carries the new cookie's token.
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	}
	return s.sign(v)
}

func (s *server) sign(v string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *server) validCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	got := r.PostFormValue(csrfField)
	return got != "" && hmac.Equal([]byte(got), []byte(s.sign(c.Value)))
}

func (s *server) cookiePath() string { return s.prefix + "/" }

type loginPage struct {
	Next  string
	Error string
}

func (l *loginPage) PageTitle() string { return "Log in" }

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Password == "" {
		return errNotFound
	}
	if authFrom(r.Context()).ok {
		http.Redirect(w, r, s.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "login", &loginPage{Next: r.URL.Query().Get("next")})
	return nil
}

func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Password == "" {
		return errNotFound
	}
	now := s.opts.Now()
	addr := clientAddr(r)
	if ok, wait := s.limiter.allow(addr, now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return &httpError{http.StatusTooManyRequests, "Too many failed logins; try again in a minute."}
	}
	next := r.PostFormValue("next")
	if !s.checkPassword("admin", r.PostFormValue("password")) {
		s.limiter.failed(addr, now)
		s.render(w, r, http.StatusUnauthorized, "login", &loginPage{Next: next, Error: "Wrong password."})
		return nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	id := s.sessions.create(now, s.opts.SessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: s.cookiePath(),
		Expires: now.Add(s.opts.SessionTTL), MaxAge: int(s.opts.SessionTTL.Seconds()),
		HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, s.safeNext(next), http.StatusSeeOther)
	return nil
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	if a := authFrom(r.Context()); a.session != "" {
		s.sessions.end(a.session)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: s.cookiePath(), MaxAge: -1, HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, s.prefix+"/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect target inside the dashboard: a path under
// the prefix, never another host ("//evil", "/\evil").
func (s *server) safeNext(next string) string {
	home := s.prefix + "/"
	if next == "" || !strings.HasPrefix(next, home) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return home
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
