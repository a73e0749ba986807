package wire

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://webhook.site/8d3c1e6a-1b2c-4d5e-9f00-123456789abc", "https://webhook.site/…"},
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://*.slack.com/…"},
		{"https://eo1abc2def3.m.pipedream.net", "https://*.pipedream.net"},
		{"https://eo1abc2def3.m.pipedream.net/", "https://*.pipedream.net/"},
		{"http://user:hunter2@bin.example:8080/x?token=SECRET#frag", "http://bin.example:8080/…"},
		{"http://127.0.0.1:4242/bin?x=1", "http://127.0.0.1:4242/…"},
		{"http://[::1]:4242", "http://[::1]:4242"},
		{"http://localhost/?k=SECRET", "http://localhost/…"},
		{"https://k3y@o1.ingest.sentry.io/42", "https://*.sentry.io/…"},
		{"http://%zz", "(unparsable URL)"},
		{"/relative/SECRET", "(URL without a host)"},
	} {
		got := RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"SECRET", "hunter2", "k3y", "eo1abc", "8d3c1e6a", "user"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q shows %q", tt.in, got, secret)
			}
		}
	}
}
