package wire

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn                        string
		want                       DSN
		envelope, redacted, string string
	}{
		{
			dsn:      "https://abc@o1.ingest.sentry.io/42",
			want:     DSN{Scheme: "https", PublicKey: "abc", Host: "o1.ingest.sentry.io", ProjectID: "42"},
			envelope: "https://o1.ingest.sentry.io/api/42/envelope/",
			redacted: "https://o1.ingest.sentry.io/42",
		},
		{
			dsn:      "http://pub:sec@127.0.0.1:9000/sentry/sub/7/",
			want:     DSN{Scheme: "http", PublicKey: "pub", SecretKey: "sec", Host: "127.0.0.1:9000", Path: "/sentry/sub", ProjectID: "7"},
			envelope: "http://127.0.0.1:9000/sentry/sub/api/7/envelope/",
			redacted: "http://127.0.0.1:9000/sentry/sub/7",
			string:   "http://pub:sec@127.0.0.1:9000/sentry/sub/7",
		},
		{
			dsn:      " https://k@[::1]:8000/1 ",
			want:     DSN{Scheme: "https", PublicKey: "k", Host: "[::1]:8000", ProjectID: "1"},
			envelope: "https://[::1]:8000/api/1/envelope/",
			redacted: "https://[::1]:8000/1",
		},
	}
	for _, tt := range tests {
		d, err := ParseDSN(tt.dsn)
		if err != nil {
			t.Fatalf("ParseDSN(%q): %v", tt.dsn, err)
		}
		if *d != tt.want {
			t.Errorf("ParseDSN(%q) = %+v, want %+v", tt.dsn, *d, tt.want)
		}
		if got := d.EnvelopeURL(); got != tt.envelope {
			t.Errorf("EnvelopeURL = %q, want %q", got, tt.envelope)
		}
		if got := d.Redacted(); got != tt.redacted {
			t.Errorf("Redacted = %q, want %q", got, tt.redacted)
		}
		want := tt.string
		if want == "" {
			want = strings.TrimSpace(tt.dsn)
		}
		if got := d.String(); got != want {
			t.Errorf("String = %q, want %q", got, want)
		}
	}
	d, _ := ParseDSN("https://abc@host/42")
	if got, want := d.StoreURL(), "https://host/api/42/store/"; got != want {
		t.Errorf("StoreURL = %q, want %q", got, want)
	}
}

func TestParseDSNErrors(t *testing.T) {
	for dsn, want := range map[string]string{
		"":               "empty DSN",
		"ftp://k@host/1": "must start with http:// or https://",
		// Pasted without its scheme: the key would be read as one, and
		// was repeated in the error.
		"secretkeyabc:secret@host/1":    "must start with http:// or https://",
		"https://host/1":                "no public key",
		"https://k@/1":                  "no host",
		"https://k@host":                "no project id",
		"https://k@host/":               "no project id",
		"https://secretkey@host:x/1":    "not a URL",
		"https://secretkey@ho st/1\x7f": "not a URL",
	} {
		_, err := ParseDSN(dsn)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDSN(%q) = %v, want an error containing %q", dsn, err, want)
			continue
		}
		if strings.Contains(err.Error(), "secretkey") {
			t.Errorf("ParseDSN(%q) error %q repeats the key", dsn, err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tt := range []struct {
		status int
		h      http.Header
		want   time.Duration
	}{
		{200, h(), 0},
		{503, h("Retry-After", "5"), 0},
		{429, h(), DefaultRetryAfter},
		{429, h("Retry-After", "7"), 7 * time.Second},
		{429, h("Retry-After", "soon"), DefaultRetryAfter},
		{429, h("Retry-After", "9999999999999"), 1e9 * time.Second},
		{429, h("Retry-After", "99999999999999999999999"), 1e9 * time.Second},
		{429, h("Retry-After", "-99999999999999999999999"), DefaultRetryAfter},
		{429, h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{429, h("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), 0},
		{429, h("X-Sentry-Rate-Limits", "60:transaction, 2700:default;error;security", "Retry-After", "1"), 2700 * time.Second},
		{200, h("X-Sentry-Rate-Limits", "30:error:organization:quota_exceeded"), 30 * time.Second},
		{429, h("X-Sentry-Rate-Limits", "60:transaction:key"), 0},
		{429, h("X-Sentry-Rate-Limits", "12.2::organization"), 13 * time.Second},
		{429, h("X-Sentry-Rate-Limits", "-5:error, junk, :error"), 0},
	} {
		if got := RateLimit(tt.status, tt.h, now); got != tt.want {
			t.Errorf("RateLimit(%d, %v) = %v, want %v", tt.status, tt.h, got, tt.want)
		}
	}
}
