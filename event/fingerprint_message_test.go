package event_test

import (
	"testing"

	"github.com/errlog/errlog/wire/decode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keyOf(t *testing.T, js string) string {
	t.Helper()
	ev, err := decode.Event([]byte(js))
	require.NoError(t, err)
	return ev.GroupKey()
}

// TestGroupFingerprintMessageBarePlaceholder: grouping 3 reads a template
// of placeholders only (Python's log.error("%s", msg)) by its parameters,
// "so that Python's logger.error("%s", msg) is not one group for every
// message"; the fingerprint variable {{ message }} still hashes the bare
// "%s": with the common rule ["{{ message }}"] (or ["{{ message }}",
// "{{ transaction }}"]) every failure logged through "%s" is one group.
func TestGroupFingerprintMessageBarePlaceholder(t *testing.T) {
	ev := func(msg string) string {
		return `{"platform":"python","logger":"shop","level":"error","fingerprint":["{{ message }}"],
"logentry":{"message":"%s","params":["` + msg + `"]}}`
	}
	assert.NotEqual(t, keyOf(t, ev("payment gateway refused card for order 1234")), keyOf(t, ev("inventory sync lost its lock for order 5678")),
		`two failures logged through "%s", fingerprint {{ message }}`)
}
