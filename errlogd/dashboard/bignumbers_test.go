package dashboard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNumbersEventPage: an 850 KB event whose extra is lists of 75 lists
// of 75 lists of 75 zeros. capEvent bounds each list (200 members),
// each string and the strings' bytes in all, but not how many values
// there are: no list is over 200, there are no strings, so nothing is
// cut, and each zero is a line of the field table and of the raw JSON,
// indented: a 9.5 MB page from errlogd (docs/security.md: "Events over
// 32 KiB are cut down for the page").
func TestNumbersEventPage(t *testing.T) {
	const n = 75
	cube := make([][][]int, n)
	for i := range cube {
		cube[i] = make([][]int, n)
		for j := range cube[i] {
			cube[i][j] = make([]int, n)
		}
	}
	st := openStore(t)
	ev := httpEvent("numbers", "*app.Error", time.Now().Add(-time.Minute))
	ev.Extra = map[string]any{"m": cube}
	b, _ := json.Marshal(ev)
	require.Less(t, len(b), 1<<20, "as ingest takes it")
	submit(t, st, project(t, st), ev)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	resp, page := get(t, client(t), srv.URL+"/dev/error/groups/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Logf("event %d KB, page %d KB", len(b)>>10, len(page)>>10)
	assert.Less(t, len(page), 1<<20, "page bytes")
	assertHas(t, page, `id="capped"`)
}
