package errlog

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// A URL logged as a *url.URL, a url.URL or a string, in an attr, the
// message or an error's text, has its secret query parameters masked by
// the rules of the request's query string (Mask.Keys and Mask.Params),
// its other parameters kept; only its password was masked.
func TestURLQueryMaskedInValuesAndText(t *testing.T) {
	h, sinks := newEnvSinks(t, func(o *Options) { o.Mask.Params = []string{"sig"} })
	leak := func(s string) string { return s + "-" + fmt.Sprint(4343) }
	u, err := url.Parse("https://carol:" + leak("PW") + "@example.com/p?api_key=" + leak("QK") + "&page=2")
	require.NoError(t, err)
	v, err := url.Parse("https://example.com/v?page=3&access_token=" + leak("VAL"))
	require.NoError(t, err)
	slog.Error("fetch failed",
		"url", u,
		"urlv", *v,
		"s", "https://carol:pw@example.com/p?api_key="+leak("STR")+"&page=2",
		"signed", "see https://cdn.example.com/f.pdf?sig="+leak("SIG")+"&page=4 for the file",
		"list", "tried https://a.example/x?x=1&token="+leak("LIST1")+",https://b.example/y?token="+leak("LIST2"),
		"conn", connSettings{URL: v},
	)
	slog.Error("GET https://example.com/q?page=5&sig=" + leak("MSG") + " failed")
	slog.Error("get failed", "err", fmt.Errorf("get %q: timeout", "https://example.com/e?page=6&sig="+leak("ERR")))
	checkSinks(t, h, sinks,
		[]string{leak("PW"), leak("QK"), leak("VAL"), leak("STR"), leak("SIG"), leak("LIST1"), leak("LIST2"), leak("MSG"), leak("ERR")},
		[]string{
			"https://carol:" + DefaultMaskWith + "@example.com/p?api_key=" + DefaultMaskWith + "&page=2",
			"https://example.com/v?page=3&access_token=" + DefaultMaskWith,
			"https://cdn.example.com/f.pdf?sig=" + DefaultMaskWith + "&page=4 for the file",
			"https://example.com/q?page=5&sig=" + DefaultMaskWith + " failed",
			"https://example.com/e?page=6&sig=" + DefaultMaskWith,
		})
}

// A URL from the root of a host (a request line, a redirect), and a URL
// percent-encoded inside another's query value, have their queries
// masked too.
func TestURLQueryMaskedRelativeAndNested(t *testing.T) {
	h, sinks := newEnvSinks(t, func(o *Options) { o.Mask.Params = []string{"sig"} })
	leak := func(s string) string { return s + "-" + fmt.Sprint(4545) }
	rel := &url.URL{Path: "/cb", RawQuery: "page=1&sig=" + leak("RELURL")}
	slog.Error("redirect failed",
		"line", "GET /files/a.pdf?sig="+leak("LINE")+"&page=2 HTTP/1.1",
		"to", rel,
		"next", "https://h/login?next=%2Fcb%3Faccess_token%3D"+leak("NESTED")+"&page=3",
	)
	checkSinks(t, h, sinks,
		[]string{leak("RELURL"), leak("LINE"), leak("NESTED")},
		[]string{"GET /files/a.pdf?sig=" + DefaultMaskWith + "&page=2 HTTP/1.1", "&page=3"})
}

// The request's own URL and query string are masked as they were, once.
func TestURLQueryOfRequestUnchanged(t *testing.T) {
	h, sinks := newEnvSinks(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		slog.ErrorContext(r.Context(), "callback failed")
	})
	srv := httptest.NewServer(h.Middleware(mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/cb?state=1&access_token=tok-4444&page=2")
	require.NoError(t, err)
	resp.Body.Close()
	checkSinks(t, h, sinks, []string{"tok-4444"}, nil)
	sinks.mu.Lock()
	defer sinks.mu.Unlock()
	require.Len(t, sinks.tracker, 1)
	require.Contains(t, string(sinks.tracker[0]), `"query_string":"state=1\u0026access_token=`+DefaultMaskWith+`\u0026page=2"`)
}
