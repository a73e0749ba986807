package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnvBlanksUsedAsAccepted: a value with blanks around it, which
// checkEnv accepts, is the value errlogd uses. "0 " for retention (keep
// forever) was read as unparsable and became the default 90 days, so
// retention deleted events the operator meant to keep.
func TestEnvBlanksUsedAsAccepted(t *testing.T) {
	env := map[string]string{
		"ERRLOGD_RETENTION_DAYS":       "0 ",
		"ERRLOGD_MAX_EVENTS_PER_GROUP": " 0",
		"ERRLOGD_MIN_FREE_MB":          "0\n",
		"ERRLOGD_MAIL_DELAY":           "\t0s ",
	}
	getenv := func(k string) string { return env[k] }
	require.NoError(t, checkEnv(getenv))
	fs, c := flags("errlogd", getenv, io.Discard)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, 0, c.retentionDays)
	assert.Equal(t, 0, c.perGroup)
	assert.Equal(t, uint64(0), c.minFreeMB)
	assert.Equal(t, time.Duration(0), c.alerts.mailDelay)

	// Unset: the defaults.
	fs, c = flags("errlogd", func(string) string { return "" }, io.Discard)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, 90, c.retentionDays)
	assert.Equal(t, 10000, c.perGroup)
	assert.Equal(t, uint64(256), c.minFreeMB)
	assert.Equal(t, time.Minute, c.alerts.mailDelay)
}

// TestScrubKeys: errlogd scrubs stock SDKs' events by default, with
// errlog's mask keys and ERRLOGD_SCRUB_KEYS's; "off" stores them as sent.
func TestScrubKeys(t *testing.T) {
	scrubber := func(env map[string]string, args ...string) *ingest.Scrubber {
		fs, c := flags("errlogd", func(k string) string { return env[k] }, io.Discard)
		require.NoError(t, fs.Parse(args))
		return c.scrubber(io.Discard)
	}
	body := []byte(`{"message":"m","extra":{"password":"hunter2","ssn":"078-05-1120"}}`)
	scrubbed := func(s *ingest.Scrubber) string {
		out, _, err := s.Event(body)
		require.NoError(t, err)
		return string(out)
	}
	def := scrubbed(scrubber(nil))
	assert.NotContains(t, def, "hunter2")
	assert.Contains(t, def, "078-05-1120")
	extra := scrubbed(scrubber(map[string]string{"ERRLOGD_SCRUB_KEYS": " ssn, iban"}))
	assert.NotContains(t, extra, "hunter2", "added to the defaults")
	assert.NotContains(t, extra, "078-05-1120")
	assert.NotContains(t, scrubbed(scrubber(nil, "-scrub-keys", "ssn")), "078-05-1120")
	assert.Nil(t, scrubber(map[string]string{"ERRLOGD_SCRUB_KEYS": "Off"}))
	assert.Nil(t, scrubber(nil, "-scrub-keys=off"))
	assert.Nil(t, scrubber(nil, "-scrub-keys=ssn,off"), "off among others")

	// A key of two letters would filter the event's own ids: skipped, and
	// said so.
	fs, c := flags("errlogd", func(string) string { return "" }, io.Discard)
	require.NoError(t, fs.Parse([]string{"-scrub-keys", "id, ssn"}))
	var stderr strings.Builder
	s := c.scrubber(&stderr)
	assert.Contains(t, stderr.String(), `"id" skipped`)
	out, _, err := s.Event([]byte(`{"event_id":"e1","contexts":{"trace":{"trace_id":"t1"}},"extra":{"ssn":"078-05-1120","user_id":7}}`))
	require.NoError(t, err)
	assert.Contains(t, string(out), `"trace_id":"t1"`)
	assert.Contains(t, string(out), `"user_id":7`)
	assert.NotContains(t, string(out), "078-05-1120")
}
