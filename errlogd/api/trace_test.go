package api_test

import (
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GET /groups?trace= lists the groups with an event of that trace.
func TestGroupsByTrace(t *testing.T) {
	f := setup(t, "s3cret")
	ev := &event.Event{EventID: event.NewID(), Timestamp: time.Now(), Level: event.LevelError, Logentry: &event.Logentry{Message: "traced"},
		Contexts: map[string]map[string]any{"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}}}
	in, err := store.Prepare(f.p, ev, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, f.st.Submit(ctx, in))
	var p page
	require.Equal(t, 200, f.do(t, "GET", "/groups?trace=4BF92F3577B34DA6A3CE929D0E0E4736", "", &p))
	require.Len(t, p.Groups, 1)
	assert.Equal(t, "traced", p.Groups[0]["title"])
	require.Equal(t, 200, f.do(t, "GET", "/groups?trace=nope", "", &p))
	assert.Empty(t, p.Groups)
}
