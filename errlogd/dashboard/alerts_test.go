package dashboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAlertsSection: the group page shows the group's notifications and
// its ticket; "create ticket" (with its CSRF token) raises it once; a
// failing webhook is listed at /alerts.
func TestAlertsSection(t *testing.T) {
	st := openStore(t)
	var tickets atomic.Int32
	tk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tickets.Add(1)
		io.WriteString(w, `{"url": "https://tickets.example.com/T-1"}`)
	}))
	defer tk.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver down", http.StatusBadGateway)
	}))
	defer hook.Close()
	cfg, err := alert.ParseConfig([]byte(`
ticketers:
  tk: {type: webhook, url: "` + tk.URL + `"}
rules:
  - name: hook
    triggers: [{type: new}]
    actions: [{type: webhook, url: "` + hook.URL + `"}]
`))
	require.NoError(t, err)
	n, err := alert.New(st.(*sqlite.Store).DB, cfg, alert.Options{Manual: true})
	require.NoError(t, err)
	defer n.Close()
	p := project(t, st)
	submit(t, st, p, httpEvent("card declined", "*payment.Error", time.Now()))
	require.Error(t, n.RunOnce(context.Background()))
	page, err := st.ListGroups(context.Background(), store.GroupQuery{})
	require.NoError(t, err)
	g := page.Groups[0]

	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error", Alerts: n}))
	defer srv.Close()
	c := client(t)
	gu := srv.URL + "/dev/error/groups/" + strconv.FormatInt(g.ID, 10)
	_, body := get(t, c, gu)
	assertHas(t, body, `id="alerts"`)
	assertHas(t, body, "No ticket.")
	assertHas(t, body, "receiver down", "the history shows the failure")
	assertHas(t, body, `id="create-ticket"`)
	assertHas(t, body, fmt.Sprintf(`href="/dev/error/projects/%d/rules"`, p.ID))

	resp, _ := post(t, c, gu+"/ticket", form())
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
	assert.Equal(t, int32(0), tickets.Load())
	resp, _ = post(t, c, gu+"/ticket", form("csrf", csrfOf(t, body)))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = post(t, c, gu+"/ticket", form("csrf", csrfOf(t, body)))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, int32(1), tickets.Load(), "one ticket per group, ever")
	_, body = get(t, c, gu)
	assertHas(t, body, `href="https://tickets.example.com/T-1"`)
	assertHasNot(t, body, `id="create-ticket"`)

	// Mute for a day, unmute, mute until 5 more, acknowledge.
	resp, _ = post(t, c, gu+"/mute", form("csrf", csrfOf(t, body), "for", "24h"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(t, c, gu)
	assertHas(t, body, `id="muted"`)
	assertHas(t, body, `id="unmute"`)
	st8, err := n.State(context.Background(), g.ID)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(24*time.Hour), st8.MutedUntil, time.Minute)
	resp, _ = post(t, c, gu+"/mute", form("csrf", csrfOf(t, body)))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(t, c, gu)
	assertHasNot(t, body, `id="muted"`)
	resp, _ = post(t, c, gu+"/mute", form("csrf", csrfOf(t, body), "more", "5"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(t, c, gu)
	assertHas(t, body, "until seen 6 times")
	resp, _ = post(t, c, gu+"/mute", form("csrf", csrfOf(t, body), "for", "forever"))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = post(t, c, gu+"/ack", form("csrf", csrfOf(t, body), "ack", "1"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(t, c, gu)
	assertHas(t, body, `id="acked"`)

	_, body = get(t, c, srv.URL+"/dev/error/alerts")
	assertHas(t, body, fmt.Sprintf(`href="/dev/error/groups/%d"`, g.ID))
	assertHas(t, body, "502 Bad Gateway")
}
