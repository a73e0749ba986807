package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFeedbackPageBounded: user feedback is sent by anyone with the DSN
// (a browser application ships it), 1 MB per item as ingest takes it.
// The group page shows the newest 20 in full: 20 feedbacks of 1 MB of
// "<" made an 80 MB page (errlogd's RSS 260 MB to render it), where an
// event of the same size is cut to well under 1 MiB (docs/security.md,
// "Dashboard: big events").
func TestFeedbackPageBounded(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	ev := messageEvent("checkout failed", event.LevelError, "production", time.Now().Add(-time.Minute))
	submit(t, st, p, ev)
	big := strings.Repeat("<", 1000*1000)
	for i := 0; i < 20; i++ {
		require.NoError(t, st.AddFeedback(context.Background(), &store.Feedback{ProjectID: p.ID, EventID: string(ev.EventID),
			Name: strings.Repeat("<", 1000), Email: "a@example.com", Comments: big, Received: time.Now()}))
	}
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	resp, page := get(t, client(t), srv.URL+"/dev/error/groups/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Logf("group page %d KB", len(page)>>10)
	assertHas(t, page, `id="feedback"`)
	assert.Less(t, len(page), 1<<20, "page bytes")
}

// TestManyReleasesPageBounded: each distinct environment and release an
// event names is listed in the issue list's filter menus (of every
// group) and in its group's "Environments and releases" table, all of
// them. 5,000 small events with distinct releases, sent in 7 s to a
// real errlogd, made the issue list 7.5 MB and the group page 8.2 MB;
// 50,000 make every load of the dashboard's first page 75 MB.
func TestManyReleasesPageBounded(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	const n = 3000
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ev := messageEvent("flood", event.LevelError, fmt.Sprintf("e%05d-%s", i, strings.Repeat("<", 50)), time.Now().Add(-time.Minute))
				ev.Fingerprint = []string{"flood"}
				ev.Release = fmt.Sprintf("%05d-%s", i, strings.Repeat(`<"`, 97))
				in, err := store.Prepare(p, ev, nil, time.Now())
				if assert.NoError(t, err) {
					assert.NoError(t, st.Submit(context.Background(), in))
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	resp, list := get(t, client(t), srv.URL+"/dev/error/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, group := get(t, client(t), srv.URL+"/dev/error/groups/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Logf("list page %d KB, group page %d KB", len(list)>>10, len(group)>>10)
	assert.Less(t, len(list), 1<<20, "list page bytes")
	assert.Less(t, len(group), 1<<20, "group page bytes")
}

func TestCapFacet(t *testing.T) {
	vals := []string{"1.0", "1.1", "1.2", "1.3"}
	assert.Equal(t, vals, capFacet(vals, "", 4))
	assert.Equal(t, []string{"1.2", "1.3"}, capFacet(vals, "", 2))
	assert.Equal(t, []string{"1.0", "1.2", "1.3"}, capFacet(vals, "1.0", 2), "the selected one stays")
	assert.Equal(t, []string{"1.2", "1.3"}, capFacet(vals, "1.3", 2))
}
