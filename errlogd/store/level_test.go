package store

import (
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLevelNormalized: the stored level is one of the five; an unknown
// or huge one is dropped for "error".
func TestLevelNormalized(t *testing.T) {
	p := &Project{ID: 1}
	for in, want := range map[event.Level]string{
		"":           "error",
		"warning":    "warning",
		"WARN":       "warning",
		"Critical":   "fatal",
		"log":        "info",
		"debug":      "debug",
		"<!channel>": "error",
		event.Level(strings.Repeat("x", 100<<10)): "error",
		"error\r\nBcc: x@evil.example":            "error",
	} {
		ev := &event.Event{EventID: event.NewID(), Level: in, Logentry: &event.Logentry{Message: "m"}}
		inc, err := Prepare(p, ev, nil, time.Now())
		require.NoError(t, err)
		assert.Equal(t, want, inc.Level, "%.40q", in)
	}
}
