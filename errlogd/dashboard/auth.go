package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/errlogd/internal/access"
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
			now, addr := s.opts.Now(), access.ClientAddr(r)
			if ok, wait := s.guesses.Allow(addr, now); !ok {
				return auth{limited: wait}
			}
			if access.CheckPassword(user, pass, s.opts.Password) {
				s.guesses.Succeeded(addr, now)
				return auth{ok: true}
			}
			return auth{badBasic: true}
		}
		return auth{}
	}
	if s.opts.Authorize == nil && access.Local(r) {
		return auth{ok: true}
	}
	return auth{}
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

// csrfToken returns the token forms carry: an HMAC of the browser's CSRF
// cookie, which it sets when missing. A forged form on another site can
// neither read the cookie nor compute the HMAC. The cookies are
// SameSite=Lax, not Strict: a Strict cookie is not sent when a link on
// another site (an alert mail in webmail) opens a page, which then set a
// new CSRF cookie, breaking the forms of every open tab, and asked a
// logged-in user for the password again.
func (s *server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		v = c.Value
	} else if w != nil {
		v = randomToken()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: s.cookiePath(), HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteLaxMode})
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
	addr := access.ClientAddr(r)
	if ok, wait := s.guesses.Allow(addr, now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return &httpError{http.StatusTooManyRequests, "Too many failed logins; try again in a minute."}
	}
	next := r.PostFormValue("next")
	if !access.CheckPassword("admin", r.PostFormValue("password"), s.opts.Password) {
		s.render(w, r, http.StatusUnauthorized, "login", &loginPage{Next: next, Error: "Wrong password."})
		return nil
	}
	s.guesses.Succeeded(addr, now)
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	id := s.sessions.create(now, s.opts.SessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: s.cookiePath(),
		Expires: now.Add(s.opts.SessionTTL), MaxAge: int(s.opts.SessionTTL.Seconds()),
		HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, s.safeNext(next), http.StatusSeeOther)
	return nil
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	if a := authFrom(r.Context()); a.session != "" {
		s.sessions.end(a.session)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: s.cookiePath(), MaxAge: -1, HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteLaxMode})
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
	if err != nil || u.Host != "" || u.Scheme != "" || u.Opaque != "" {
		return home
	}
	// Dot segments, plain or escaped ("%2e%2e"), are resolved as a
	// browser would before the prefix is checked: "/dev/error/../../x"
	// is "/x".
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if !strings.HasPrefix(clean, home) {
		return home
	}
	return (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
