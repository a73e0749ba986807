package access

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLocal(t *testing.T) {
	for host, ok := range map[string]bool{
		"localhost:8080": true, "127.0.0.1": true, "[::1]:80": true, "app.localhost": true,
		"example.com": false, "127.0.0.1.nip.io": false, "evil.example:8080": false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = "127.0.0.1:5555", host
		assert.Equal(t, ok, Local(r), "Host %s", host)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, r.Host = "192.0.2.7:5555", "localhost"
	assert.False(t, Local(r), "from another machine")
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = "127.0.0.1:5555", "localhost"
		r.Header.Set(h, "192.0.2.7")
		assert.False(t, Local(r), "forwarded by a proxy (%s)", h)
	}
}

func TestLoopbackAddr(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "[::1]:1": true, "localhost:80": true, "0.0.0.0:8080": false, ":8080": false, "192.0.2.1:80": false} {
		assert.Equal(t, ok, LoopbackAddr(addr), addr)
	}
}

func TestCheckPassword(t *testing.T) {
	assert.True(t, CheckPassword("admin", "pw", "pw"))
	assert.False(t, CheckPassword("root", "pw", "pw"))
	assert.False(t, CheckPassword("admin", "pw2", "pw"))
	assert.False(t, CheckPassword("admin", "", "pw"))
}

func TestLimiter(t *testing.T) {
	var l Limiter
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		ok, _ := l.Allow("a", now)
		assert.True(t, ok, "guess %d", i)
		l.Failed("a", now)
	}
	ok, wait := l.Allow("a", now.Add(10*time.Second))
	assert.False(t, ok, "a sixth guess within the minute")
	assert.Equal(t, 50*time.Second, wait)
	ok, _ = l.Allow("b", now)
	assert.True(t, ok, "another address is not held back")
	ok, _ = l.Allow("a", now.Add(time.Minute))
	assert.True(t, ok, "a new minute")
}

// A storm of failures from many addresses holds back the addresses that
// failed, never one that has not.
func TestLimiterNoLockout(t *testing.T) {
	l := Limiter{PerMinute: 5}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		addr := "192.0.2." + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if ok, _ := l.Allow(addr, now); ok {
			l.Failed(addr, now)
		}
	}
	ok, _ := l.Allow("192.0.2.aa", now)
	assert.False(t, ok, "an address that failed, past the global limit")
	ok, _ = l.Allow("198.51.100.1", now)
	assert.True(t, ok, "the admin from an address that has not failed")
}
