package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupingCorpus: errlogd groups the labelled corpus of the event
// package (event/testdata/grouping, see its README.md) as a person did:
// every label one group, no two labels in one. The key ingest computes
// from the fields it decodes is the key of the whole event.
func TestGroupingCorpus(t *testing.T) {
	files, err := filepath.Glob("../../event/testdata/grouping/*/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	p := &store.Project{ID: 1}
	keyOf := map[string]string{}   // label → key
	labelOf := map[string]string{} // key → label
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		ev, err := decode.Summary(b)
		require.NoError(t, err, f)
		in, err := store.Prepare(p, ev, b, time.Now())
		require.NoError(t, err, f)
		label, _, _ := strings.Cut(filepath.Base(f), "--")
		if k, ok := keyOf[label]; ok {
			assert.Equal(t, k, in.GroupKey, "false split: %s", f)
		}
		keyOf[label] = in.GroupKey
		if l, ok := labelOf[in.GroupKey]; ok {
			assert.Equal(t, l, label, "false merge: %s", f)
		}
		labelOf[in.GroupKey] = label

		full, err := decode.Event(b)
		require.NoError(t, err)
		if len(full.Frames()) == 0 {
			full.Stacktrace = ev.Stacktrace // from threads, which decode.Event leaves
		}
		fromFull, err := store.Prepare(p, full, b, time.Now())
		require.NoError(t, err)
		assert.Equal(t, fromFull.GroupKey, in.GroupKey, "%s: ingest reads what grouping needs", f)
	}
	t.Logf("%d events, %d groups", len(files), len(keyOf))
}
