package errlog

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A tracked status on a path that carries a token groups by the masked
// path: the fingerprint, like the URL and the "path" attr, leaves the
// token behind.
func TestTrackedStatusFingerprintMasksPathSecrets(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	resp, err := http.Get(base + "/reset/" + token)
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)

	evs := sink.all()
	require.Len(t, evs, 1)
	ev := evs[0]
	assert.Equal(t, []string{"errlog.http-status", "500", "/reset/" + DefaultMaskWith}, ev.Fingerprint)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "SflKxwRJSMe", "no field of the event holds the token")
}
