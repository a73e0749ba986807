package errlog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonDepth returns the deepest nesting of objects and arrays in data.
func jsonDepth(t *testing.T, data []byte) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		require.NoError(t, err)
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// Keys, the number of attrs and the nesting of groups are bounded in
// every sink: a 10 MB key, 10,000 attrs and 1,000 levels of groups used
// to give a 21.8 MB mail, a 3.1 MB mail and JSON Python cannot parse.
func TestBoundedKeysAttrsAndGroups(t *testing.T) {
	file := &syncBuffer{}
	mailDir := t.TempDir()
	h, console, _, sink := newTestHandler(t, Options{MaxValueBytes: 1 << 10, File: &logfile.Options{Writer: file, Format: "%(message)s %(k)s"},
		Mail: &MailOptions{Dir: mailDir, To: []string{"ops@example.com"}}})
	log := slog.New(h)

	log.Error("huge key", strings.Repeat("k", 10<<20), "v")
	many := make([]any, 0, 20000)
	for i := 0; i < 10000; i++ {
		many = append(many, "a"+strings.Repeat("x", i%7)+string(rune('0'+i%10))+strings.Repeat("y", i/10%5)+"_"+itoaTest(i), i)
	}
	log.Error("many attrs", many...)
	var deep slog.Attr = slog.String("leaf", "bottom")
	for i := 0; i < 1000; i++ {
		deep = slog.Group("g", deep)
	}
	log.Error("deep group", deep)
	dl := log
	for i := 0; i < 1000; i++ {
		dl = dl.WithGroup("w")
	}
	dl.Error("deep handler", "k", "v")
	flush(t, h)

	assert.Less(t, len(file.String()), 200<<10, "the file stays small")
	out := console.String()
	assert.Less(t, len(out), 200<<10, "console output stays small")
	lines := strings.Split(out, "\n")
	for _, l := range lines {
		assert.Less(t, len(l), 64<<10)
	}
	assert.Contains(t, out, `…="9800 more"`)
	assert.Contains(t, out, "…[truncated")

	evs := sink.all()
	require.Len(t, evs, 4)
	for _, ev := range evs {
		raw, err := ev.MarshalJSON()
		require.NoError(t, err)
		assert.Less(t, len(raw), 512<<10, ev.Message())
		assert.LessOrEqual(t, jsonDepth(t, raw), MaxGroupDepth+4, ev.Message())
		assert.LessOrEqual(t, len(ev.Extra), MaxAttrs+1, ev.Message())
		for k := range ev.Extra {
			assert.LessOrEqual(t, len(k), 1<<10+64)
		}
	}
	assert.Equal(t, "9800 more", evs[1].Extra["…"])
	mails, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
	require.Len(t, mails, 4)
	for _, m := range mails {
		fi, err := os.Stat(m)
		require.NoError(t, err)
		assert.Less(t, fi.Size(), int64(512<<10), "a bounded mail")
	}
	assert.Contains(t, out, strings.Repeat("g.", MaxGroupDepth-1)+`g="…[985 more]"`)
	assert.Contains(t, string(mustJSON(t, evs[3])), strings.Repeat("w.", MaxGroupDepth)+"k")
}

func mustJSON(t *testing.T, v interface{ MarshalJSON() ([]byte, error) }) []byte {
	b, err := v.MarshalJSON()
	require.NoError(t, err)
	return b
}

func itoaTest(i int) string { return strconv.Itoa(i) }
