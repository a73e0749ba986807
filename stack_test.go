package errlog

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stack printed under an error on the console starts at the logging
// call, through a plain slog.Logger and through a http.Handler.
func TestStackStartsAtLoggingCall(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(Options{Console: &buf})
	defer h.Close(context.Background())
	http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).Error("in handler")
	}).ServeHTTP(nil, nil)
	lines := strings.Split(buf.String(), "\n")
	require.Greater(t, len(lines), 2)
	assert.Contains(t, lines[1], "errlog.TestStackStartsAtLoggingCall.func1", "first stack line is the logging function")
	assert.NotContains(t, buf.String(), "log/slog.")
}
