package alert

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSentryGoTrace: an error sent by the real sentry-go SDK inside a
// trace (continued from an incoming sentry-trace header, as its HTTP
// middleware does) is stored with its trace, found by it, and its alert
// mail links to the trace in the tracing UI.
func TestSentryGoTrace(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) {
		o.Now = time.Now
		o.TraceURL = "https://tempo.example.com/explore?traceId={trace_id}"
	})
	mux := http.NewServeMux()
	mux.Handle("/api/{project}/envelope/", ingest.New(f.st, ingest.Options{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dsn := fmt.Sprintf("http://%s@%s/%d", f.prj.PublicKey, strings.TrimPrefix(srv.URL, "http://"), f.prj.ID)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn})
	require.NoError(t, err)
	hub := sentry.NewHub(client, sentry.NewScope())

	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	pc, err := sentry.PropagationContextFromHeaders(trace+"-00f067aa0ba902b7-1", "")
	require.NoError(t, err)
	hub.Scope().SetPropagationContext(pc)
	hub.CaptureException(errors.New("card declined"))
	require.True(t, client.Flush(5*time.Second))
	f.run()

	page, err := f.st.ListGroups(ctx, store.GroupQuery{TraceID: trace})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1, "the sentry-go event is found by its trace")
	rows, err := f.st.GroupEvents(ctx, page.Groups[0].ID, store.EventQuery{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, trace, rows[0].TraceID)

	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	body := mailBody(t, mails[0])
	assert.Contains(t, body, "Trace: https://tempo.example.com/explore?traceId="+trace)
}
