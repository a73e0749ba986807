package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessingErrorsShown: what ingest dropped from an event (a value
// of the wrong type) and a corrected timestamp are listed on its page;
// tags are shown; a logentry's params are filled in.
func TestProcessingErrorsShown(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now().UTC()
	raw := []byte(`{"event_id":"0123456789abcdef0123456789abcdef","timestamp":"2020-01-01T00:00:00Z",
		"logentry":{"message":"charge %s failed","params":["ch_1"]},"user":{"id":42,"email":["x"]},
		"tags":[["tenant","acme"]],"contexts":{"os":"linux"}}`)
	ev, err := decode.Summary(raw)
	require.NoError(t, err)
	in, err := store.Prepare(p, ev, raw, now)
	require.NoError(t, err)
	require.NoError(t, st.Submit(context.Background(), in))
	require.NoError(t, st.AddFeedback(context.Background(), &store.Feedback{ProjectID: p.ID, EventID: "0123456789abcdef0123456789abcdef",
		Name: "Ann", Email: "ann@example.com", Comments: "the pay button <b>does nothing</b>"}))
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	_, body := get(t, client(t), srv.URL+"/groups/1")
	assertHas(t, body, `<h2>User feedback (1)</h2>`)
	assertHas(t, body, `<p dir="auto">the pay button &lt;b&gt;does nothing&lt;/b&gt;</p><footer class="muted"><bdi>Ann</bdi> &lt;ann@example.com&gt;`)
	assertHas(t, body, `id="processing-errors"><h2>Processing errors (3)</h2>`)
	assertHas(t, body, `<code>user.email</code>`)
	assertHas(t, body, `<code>contexts.os</code>`)
	assertHas(t, body, `timestamp_corrected`)
	assertHas(t, body, `<code>2020-01-01T00:00:00Z</code>`)
	assertHas(t, body, `<pre class="msg" dir="auto">charge ch_1 failed</pre>`)
	assertHas(t, body, `template: <code>charge %s failed</code>`)
	assertHas(t, body, `<span class="ck">tenant</span><span class="cv" dir="auto">acme</span>`)
	assertHas(t, body, `charge ch_1 failed`, "the title")
}

// The feedback card's heading counts all the feedback on the issue, not
// the 20 newest the page shows: 25 reports were headed "User feedback
// (20)".
func TestFeedbackHeadingCountsAll(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	for i := 0; i < 25; i++ {
		ev := httpEvent("checkout failed", "*orders.PaymentError", now.Add(-time.Duration(i)*time.Minute))
		submit(t, st, p, ev)
		require.NoError(t, st.AddFeedback(context.Background(), &store.Feedback{ProjectID: p.ID, EventID: string(ev.EventID),
			Name: "Ann", Comments: fmt.Sprint("the pay button spins forever, try ", i)}))
	}
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	_, body := get(t, client(t), srv.URL+"/groups/1")
	assertHas(t, body, `<h2>User feedback (the newest 20 of 25)</h2>`)
	assert.Equal(t, 20, strings.Count(body, `<blockquote class="feedback">`))
}
