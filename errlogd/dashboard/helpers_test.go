package dashboard

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/require"
)

// openStore returns an empty SQLite store in the test's directory.
func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	return st
}

// openPostgres returns an empty PostgreSQL store in a schema of its own,
// or skips without ERRLOG_TEST_POSTGRES.
func openPostgres(t testing.TB) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// submit stores events as ingest would, into project p.
func submit(t testing.TB, st store.Store, p *store.Project, evs ...*event.Event) {
	t.Helper()
	for _, ev := range evs {
		in, err := store.Prepare(p, ev, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, st.Submit(context.Background(), in))
	}
}

func project(t testing.TB, st store.Store) *store.Project {
	t.Helper()
	ps, err := st.Projects(context.Background())
	require.NoError(t, err)
	if len(ps) > 0 {
		return &ps[0]
	}
	p, err := st.CreateProject(context.Background(), "app")
	require.NoError(t, err)
	return p
}

// httpEvent is an error in a web request, as errlog's middleware reports
// one: an in-app frame over library frames, a request, extras, a user.
func httpEvent(msg, typ string, at time.Time) *event.Event {
	return &event.Event{
		EventID: event.NewID(), Timestamp: at, Level: event.LevelError, Platform: "go", Logger: "slog",
		Environment: "production", Release: "shop@1.4.2", ServerName: "web-1",
		Exception: []event.Exception{
			{Type: "*net.OpError", Value: "dial tcp 10.0.0.7:5432: connect: connection refused"},
			{Type: typ, Value: msg, Stacktrace: &event.Stacktrace{Frames: []event.Frame{
				{Module: "net/http", Function: "HandlerFunc.ServeHTTP", Filename: "net/http/server.go", AbsPath: "/usr/local/go/src/net/http/server.go", Lineno: 2294},
				{Module: "github.com/go-chi/chi/v5", Function: "(*Mux).routeHTTP", Filename: "mux.go", AbsPath: "/go/pkg/mod/github.com/go-chi/chi/v5@v5.0.12/mux.go", Lineno: 444, InApp: true},
				{Module: "example.com/shop/orders", Function: "(*Service).Checkout", Filename: "orders/checkout.go", AbsPath: "/src/shop/orders/checkout.go", Lineno: 87, InApp: true},
				{Module: "database/sql", Function: "(*DB).QueryContext", Filename: "database/sql/sql.go", AbsPath: "/usr/local/go/src/database/sql/sql.go", Lineno: 1781},
			}}},
		},
		Request: &event.Request{
			URL: "https://shop.example.com/checkout", Method: "POST", QueryString: "step=pay&coupon=SPRING",
			Data:    map[string]any{"card": "**************", "amount": 42.5},
			Headers: map[string]string{"User-Agent": "Mozilla/5.0", "Content-Type": "application/x-www-form-urlencoded"},
			Cookies: map[string]string{"session": "**************"},
		},
		User:     &event.User{ID: "u-1842", Email: "ann@example.com"},
		Tags:     map[string]string{"route": "/checkout", "region": "eu-west"},
		Extra:    map[string]any{"order_id": "ord_8812", "cart": map[string]any{"items": 3, "total": 42.5}},
		Contexts: map[string]map[string]any{"runtime": {"name": "go", "version": "go1.26.0"}, "os": {"name": "linux"}},
		Modules:  map[string]string{"github.com/go-chi/chi/v5": "v5.0.12", "github.com/errlog/errlog": "v0.4.0"},
		SDK:      &event.SDK{Name: "errlog", Version: "0.4.0"},
	}
}

func messageEvent(msg string, level event.Level, env string, at time.Time) *event.Event {
	return &event.Event{EventID: event.NewID(), Timestamp: at, Level: level, Platform: "go", Environment: env, Release: "shop@1.4.2",
		Logentry: &event.Logentry{Message: msg}}
}

// client is an HTTP client that keeps cookies and does not follow
// redirects, so tests see them.
func client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(t, m, "the page has a CSRF token")
	return m[1]
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// assertHas is assert.Contains without the whole page in the message.
func assertHas(t testing.TB, body, want string, msg ...any) bool {
	t.Helper()
	if strings.Contains(body, want) {
		return true
	}
	t.Errorf("the page (%d bytes) lacks %q %v", len(body), want, msg)
	return false
}

func assertHasNot(t testing.TB, body, unwanted string, msg ...any) bool {
	t.Helper()
	i := strings.Index(body, unwanted)
	if i < 0 {
		return true
	}
	t.Errorf("the page has %q: …%s… %v", unwanted, body[max(0, i-80):min(len(body), i+len(unwanted)+80)], msg)
	return false
}
