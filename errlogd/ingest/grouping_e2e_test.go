package ingest_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupingCorpusStored: the labelled corpus of the event package
// (event/testdata/grouping), posted to errlogd as SDKs post events, makes
// one stored group per label, each holding exactly its label's events.
func TestGroupingCorpusStored(t *testing.T) {
	s := newServer(t, ingest.Options{})
	files, err := filepath.Glob("../../event/testdata/grouping/*/*.json")
	require.NoError(t, err)
	labelOf := map[string]string{} // event id → label
	labels := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		id, _ := m["event_id"].(string)
		if id == "" { // Sentry's fixtures have none
			id = event.NewID()
			m["event_id"] = id
		}
		delete(m, "timestamp") // received now: within retention
		b, err = json.Marshal(m)
		require.NoError(t, err)
		label, _, _ := strings.Cut(filepath.Base(f), "--")
		labelOf[strings.ReplaceAll(id, "-", "")] = label
		labels[label] = true
		resp := post(t, s.url("envelope"), envelope(`{}`, eventItem(b)), s.auth())
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, f)
	}
	assert.Equal(t, int64(len(files)), s.events(t))
	page, err := s.st.ListGroups(ctx, store.GroupQuery{Limit: 500})
	require.NoError(t, err)
	assert.Len(t, page.Groups, len(labels), "one group per label")
	for _, g := range page.Groups {
		rows, err := s.st.GroupEvents(ctx, g.ID, store.EventQuery{Limit: 500})
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, r := range rows {
			seen[labelOf[r.EventID]] = true
		}
		assert.Len(t, seen, 1, "group %q holds the events of %v", g.Title, seen)
	}
}
