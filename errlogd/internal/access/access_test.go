package access

import (
	"net/http/httptest"
	"testing"

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
