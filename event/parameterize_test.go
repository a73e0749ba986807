package event

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParameterize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"user 123 not found", "user <int> not found"},
		{"user -5 has a negative balance", "user <int> has a negative balance"},
		{"order id-5 failed", "order id-<int> failed"},
		{"mail to ann@example.com bounced", "mail to <email> bounced"},
		{"GET https://api.example.com/v1/users/42?x=1 failed", "GET <url> failed"},
		{"dial tcp 10.0.0.12:5432: connection refused", "dial tcp <ip>:<int>: connection refused"},
		{"dial tcp [fe80::1%eth0]:80", "dial tcp [<ip>%eth0]:<int>"},
		{"peer 2001:db8:0:0:0:0:2:1 reset", "peer <ip> reset"},
		{"job 3f2b8c1e-9d4a-4c5e-8f7a-1b2c3d4e5f60 lost", "job <uuid> lost"},
		{"nil pointer at 0xc000123abc", "nil pointer at <hex>"},
		{"commit 9fceb02d0ae598e95dc970b74767f19372d61af8 missing", "commit <hex> missing"},
		{"object deadbeef stays a word, facade too", "object deadbeef stays a word, facade too"},
		{"batch 12345678 failed", "batch <int> failed"},
		{"expired at 2026-11-27T15:04:05Z", "expired at <date>"},
		{"expired at 2026-11-27 15:04:05.123 +0000 UTC", "expired at <date>"},
		{"since Fri, 27 Nov 2026 15:04:05 GMT", "since <date>"},
		{"run at 15:04:05", "run at <date>"},
		{"on 2026-11-27", "on <date>"},
		{"timeout after 1.5s", "timeout after <duration>"},
		{"timeout after 1h2m3.5s", "timeout after <duration>"},
		{"took 250ms", "took <duration>"},
		{"retry in 30 seconds", "retry in <duration>"},
		{"ratio 0.75 above limit", "ratio <float> above limit"},
		{"score 1.5e10", "score <float>"},
		{"HTTP 502 Bad Gateway", "HTTP 502 Bad Gateway"},
		{"upstream answered 503 Service Unavailable", "upstream answered 503 Service Unavailable"},
		{"status=404 for /users/17", "status=404 for /users/<int>"},
		{"got status code 500", "got status code 500"},
		{"user 404 not found", "user <int> not found"},
		{"no numbers here", "no numbers here"},
		{"", ""},
		{"user123 keeps its digits", "user123 keeps its digits"},
		{"version v1.2.3 is old", "version v1.<float> is old"},
		{"retry at 12:30 today", "retry at <int>:<int> today"},
		{"listen on :8080", "listen on :<int>"},
		{"peer ::1 closed", "peer <ip> closed"},
		{"code 0x1F unknown", "code <hex> unknown"},
		{"logged Nov 27 15:04:05 by cron", "logged <date> by cron"},
		{"ssh://git@example.com/repo.git unreachable", "<url> unreachable"},
		{"send to ann@example.com, bob@x.org", "send to <email>, <email>"},
		{"20% of 3.5e-3", "<int>% of <float>"},
		{"a@b without domain dot", "a@b without domain dot"},
		// Ids glued to a name (grouping 3).
		{"open /tmp/upload_3829473622: no such file", "open /tmp/upload_<int>: no such file"},
		{"order_9f8e7d6c-4b3a-4c2d-8e1f-a0b1c2d3e4f5 stuck", "order_<uuid> stuck"},
		{"order_abcdefab-4b3a-4c2d-8e1f-a0b1c2d3e4f5 stuck", "order_<uuid> stuck"},
		{"lock tmp8421377 held", "lock tmp<int> held"},
		{"lock tmp84213 held", "lock tmp84213 held"},
		{"value is not RFC3339 nor RFC1123, cp1252, ES2015, ISO8859_1", "value is not RFC3339 nor RFC1123, cp1252, ES2015, ISO8859_1"},
		{"blob_9fceb02d0ae5 gone", "blob_<hex> gone"},
		{"session_20261203_0412 expired", "session_<int>_0412 expired"},
		{"mail to user_1234@example.com bounced", "mail to <email> bounced"},
		{"sha256 utf8 x86_64 int64 ipv6 http2 stay", "sha256 utf8 x86_64 int64 ipv6 http2 stay"},
		{"user123 keeps its digits, so does a cafe1", "user123 keeps its digits, so does a cafe1"},
		{"word deadbeefcafe stays", "word deadbeefcafe stays"},
	} {
		assert.Equal(t, tc.want, Parameterize(tc.in), tc.in)
	}
}

// TestParameterizeBefore3: the groupings before 3 leave glued ids, as
// the keys they stored were made.
func TestParameterizeBefore3(t *testing.T) {
	for _, v := range []int{1, 2} {
		assert.Equal(t, "open /tmp/upload_3829473622", parameterize("open /tmp/upload_3829473622", v))
		assert.Equal(t, "user <int> of tmp8421377", parameterize("user 42 of tmp8421377", v))
	}
}

// Groups by message: each set of messages is one group, and no two sets
// share one (the issue asks for at least 40 messages).
func TestGroupKeyParameterized(t *testing.T) {
	groups := [][]string{
		{"user 123 not found", "user 456 not found", "user 7 not found", "user 99999999 not found"},
		{"mail to ann@example.com bounced", "mail to bob@example.org bounced"},
		{"GET https://a.example.com/x failed", "GET http://b.example.net/y?z=1 failed"},
		{"dial tcp 10.0.0.1:5432: connection refused", "dial tcp 192.168.1.20:5433: connection refused"},
		{"job 3f2b8c1e-9d4a-4c5e-8f7a-1b2c3d4e5f60 lost", "job 00000000-0000-4000-8000-000000000000 lost"},
		{"bad pointer 0xc000123abc", "bad pointer 0x1"},
		{"commit 9fceb02d0ae598e95dc970b74767f19372d61af8 missing", "commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 missing"},
		{"token expired at 2026-11-27T15:04:05Z", "token expired at 2025-01-02T03:04:05.999+02:00"},
		{"timeout after 1.5s", "timeout after 30s", "timeout after 2m0s", "timeout after 250ms"},
		{"load 0.75 above limit", "load 1.25 above limit"},
		{"HTTP 502 Bad Gateway"},
		{"HTTP 503 Service Unavailable"},
		{"status=404 for /users/17", "status=404 for /users/18"},
		{"status=500 for /users/17"},
		{"retry 3 of 5 in 30 seconds", "retry 4 of 5 in 10 seconds"},
		{"cart has -2 items", "cart has -15 items"},
		{"deadbeef checksum mismatch"},
		{"facade checksum mismatch"},
		{"connection reset", "connection reset"},
		{"connection refused"},
		{"order 17 failed: card declined", "order 18 failed: card declined"},
		{"order 17 failed: insufficient funds"},
	}
	key := func(msg string) string {
		return (&Event{Logger: "slog", Logentry: &Logentry{Message: msg}}).GroupKey()
	}
	owner := map[string]int{}
	n := 0
	for i, g := range groups {
		for _, msg := range g {
			n++
			k := key(msg)
			if j, ok := owner[k]; ok && j != i {
				t.Errorf("%q groups with set %d %q, want set %d", msg, j, groups[j], i)
			}
			owner[k] = i
			assert.Equal(t, key(g[0]), k, "%q and %q should be one group", g[0], msg)
		}
	}
	assert.GreaterOrEqual(t, n, 40)

	// An error without in-app frames groups by its parameterized message.
	ex := func(v string) string {
		return (&Event{Logger: "slog", Exception: []Exception{{Type: "*errors.errorString", Value: v}}}).GroupKey()
	}
	assert.Equal(t, ex("user 1 not found"), ex("user 2 not found"))
	assert.NotEqual(t, ex("user 1 not found"), ex("user 1 deleted"))
}

func TestGroupKeyFingerprintVariables(t *testing.T) {
	ev := func(msg string, fp ...string) *Event {
		return &Event{Logger: "slog", Logentry: &Logentry{Message: msg}, Fingerprint: fp}
	}
	assert.Equal(t, ev("user 1 lost").GroupKey(), ev("user 1 lost", "{{ default }}").GroupKey())
	assert.Equal(t, ev("user 1 lost", "{{ default }}", "t1").GroupKey(), ev("user 2 lost", "{{default}}", "t1").GroupKey())
	assert.NotEqual(t, ev("user 1 lost", "{{ default }}", "t1").GroupKey(), ev("user 1 lost", "{{ default }}", "t2").GroupKey())
	assert.Equal(t, ev("user 1 lost", "db", "{{ message }}").GroupKey(), ev("user 9 lost", "db", "{{ message }}").GroupKey())
	assert.NotEqual(t, ev("user 1 lost", "db", "{{ message }}").GroupKey(), ev("user 1 found", "db", "{{ message }}").GroupKey())
	assert.Equal(t, ev("a", "x").GroupKey(), ev("b", "x").GroupKey(), "a plain fingerprint ignores the message")
}
