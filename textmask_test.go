package errlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// newEnvSinks is a handler set up as a new user sets one up, from the
// environment (errlog.FromEnv) with a log file, mail written as .eml files
// and a tracker, all four of whose outputs allSinks reads. tweak, if not
// nil, changes the options before the handler is made.
func newEnvSinks(t *testing.T, tweak func(*Options)) (*Handler, *allSinks) {
	t.Helper()
	sinks, dir, dsn := newAllSinks(t)
	t.Setenv("ERRLOG_FILE", sinks.file)
	t.Setenv("ERRLOG_MAIL_DIR", sinks.mailDir)
	t.Setenv("ERRLOG_MAIL_TO", "ops@example.com")
	t.Setenv("ERRLOG_DSN", dsn)
	t.Setenv("ERRLOG_SPOOL_DIR", filepath.Join(dir, "spool"))
	o := FromEnv()
	o.Console, o.NoColor = sinks.console, true
	o.Throttle = ThrottleOptions{MaxPerHour: -1}
	o.OnDeliveryError = func(err error) { t.Logf("delivery error: %v", err) }
	if tweak != nil {
		tweak(&o)
	}
	h := NewHandler(o)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) })
	return h, sinks
}

// checkSinks reports each leak a sink shows, and each of keep a sink does
// not show, with the text around it.
func checkSinks(t *testing.T, h *Handler, sinks *allSinks, leaks, keep []string) {
	t.Helper()
	require.NoError(t, h.Flush(context.Background()))
	for sink, text := range sinks.texts(t) {
		require.NotEmpty(t, text, sink)
		text = strings.ReplaceAll(text, `\u0026`, "&") // as the tracker's JSON writes it
		for _, leak := range leaks {
			if i := strings.Index(text, leak); i >= 0 {
				t.Errorf("%s shows a secret: …%s…", sink, text[max(0, i-60):min(len(text), i+len(leak)+20)])
			}
		}
		for _, k := range keep {
			if !strings.Contains(text, k) {
				t.Errorf("%s does not show %q", sink, k)
			}
		}
	}
}

// A string attr's "password=…" is masked as the same text is in the
// message and an error's text: it went to the console, the file, mail and
// the tracker as it was, at any depth (groups, maps, struct fields, slices,
// scope extras, breadcrumbs).
func TestKeyValueInStringAttrMasked(t *testing.T) {
	h, sinks := newEnvSinks(t, nil)
	leak := func(s string) string { return s + "-" + fmt.Sprint(4242) }
	ctx, scope := WithScope(context.Background())
	scope.SetExtra("hint", "retry with token: "+leak("SCOPE"))
	slog.InfoContext(ctx, "step", "detail", "login password="+leak("CRUMB"))
	slog.ErrorContext(ctx, "plain error", "note", "login password="+leak("PWDINMSG"))
	badKey := []any{"retry with secret=" + leak("ATTRSTR")} // one string, no value: a !BADKEY attr
	slog.Error("msg2", badKey...)
	slog.Error("nested",
		slog.Group("db", slog.String("dsn", "host=db1 user=app password='"+leak("GROUP")+"' sslmode=require")),
		"meta", map[string]any{"memo": `{"ok":1} api_key: ` + leak("MAP")},
		"order", struct{ Note string }{"pwd=" + leak("STRUCT")},
		"lines", []string{"ok", "auth=" + leak("SLICE")},
		"env", map[string]string{"cmd": "run --secret=" + leak("STRMAP")},
	)
	slog.Info("info line", "note", "session_id="+leak("INFO"))
	slog.Info("reconnect with password="+leak("INFOMSG"), "db", "main")
	checkSinks(t, h, sinks,
		[]string{leak("SCOPE"), leak("CRUMB"), leak("PWDINMSG"), leak("ATTRSTR"), leak("GROUP"), leak("MAP"), leak("STRUCT"), leak("SLICE"), leak("STRMAP")},
		[]string{"login password=" + DefaultMaskWith, "retry with secret=" + DefaultMaskWith, "host=db1 user=app password='" + DefaultMaskWith + "' sslmode=require"})
	// The INFO record goes to the console only (the file's level is warn).
	require.NotContains(t, sinks.console.String(), leak("INFO"))
	require.Contains(t, sinks.console.String(), "session_id="+DefaultMaskWith)
	// And an INFO message's own text, as an ERROR's.
	require.NotContains(t, sinks.console.String(), leak("INFOMSG"))
	require.Contains(t, sinks.console.String(), "reconnect with password="+DefaultMaskWith)
}

// Text without a masked key is left as it is, byte for byte.
func TestKeyValueInStringAttrKept(t *testing.T) {
	h, sinks := newEnvSinks(t, nil)
	texts := []string{"a=b c:d", "at 12:30:05 retry=3", "user=ann role: admin", "passenger=7 author: bob"}
	slog.Error("kept", "a", texts[0], "b", texts[1], "c", texts[2], "d", texts[3])
	checkSinks(t, h, sinks, nil, texts)
}

// indexFold finds what comparing at every position finds (the version it
// replaced, which cost the caller of slog.Error twice as long on a 400 KB
// value), on texts of the bytes that matter: either case of sub's
// letters, and runes that fold to ASCII (the Kelvin sign, the long s).
func TestIndexFoldAgreesWithEveryPosition(t *testing.T) {
	naive := func(s, sub string) int {
		for i := 0; i+len(sub) <= len(s); i++ {
			if strings.EqualFold(s[i:i+len(sub)], sub) {
				return i
			}
		}
		return -1
	}
	pieces := []string{"b", "B", "e", "E", "a", "r", "R", "s", "S", "i", "c", " ", "x", "ſ", "K", "é", "bearer", "BeArEr", "basic ", "BASIC "}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.Intn(12); k > 0; k-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		s := b.String()
		for _, sub := range []string{"bearer", "basic ", "authorization", "b", ""} {
			if got, want := indexFold(s, sub), naive(s, sub); got != want {
				t.Fatalf("indexFold(%q, %q) = %d, want %d", s, sub, got, want)
			}
		}
	}
}
