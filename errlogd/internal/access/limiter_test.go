package access

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// guess is what a handler does with a wrong password.
func guess(l *Limiter, addr string, now time.Time) bool {
	ok, _ := l.Allow(addr, now)
	return ok
}

func TestLimiter(t *testing.T) {
	var l Limiter
	for i := 0; i < 5; i++ {
		assert.True(t, guess(&l, "192.0.2.1:1234", t0), "guess %d", i)
	}
	ok, wait := l.Allow("192.0.2.1:999", t0.Add(10*time.Second))
	assert.False(t, ok, "a sixth guess within the minute, whatever the port")
	assert.Equal(t, 50*time.Second, wait)
	assert.True(t, guess(&l, "192.0.2.2", t0), "another address is not held back")
	assert.True(t, guess(&l, "192.0.2.1", t0.Add(time.Minute)), "a new minute")
}

// The total holds whatever the number of addresses: 10,005 addresses
// get 50 guesses checked in their minute, not 10,005, and IPv6 addresses
// of one /64 are one client.
func TestLimiterTotalHolds(t *testing.T) {
	var l Limiter
	checked := 0
	for i := 0; i < 10005; i++ {
		if guess(&l, fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), t0.Add(time.Duration(i)*time.Millisecond)) {
			checked++
		}
	}
	assert.LessOrEqual(t, checked, 50+9, "guesses checked in 10 s from 10,005 addresses: 50, and 50 a minute more")
	var v6 Limiter
	checked = 0
	for i := 0; i < 1000; i++ {
		if guess(&v6, fmt.Sprintf("[2001:db8:0:1:%x::1]:443", i), t0) {
			checked++
		}
	}
	assert.Equal(t, 5, checked, "one /64 is one client")
	checked = 0
	for i := 0; i < 1000; i++ {
		if guess(&v6, fmt.Sprintf("[2001:db8:%x::1]:443", i+2), t0) {
			checked++
		}
	}
	assert.Equal(t, 45, checked, "many /64s share the total")
	// An hour of a steady flood: the total per minute holds.
	checked = 0
	for i := 0; i < 60*600; i++ {
		if guess(&v6, fmt.Sprintf("[2001:db8:%x::1]:443", i+5000), t0.Add(time.Duration(i)*100*time.Millisecond)) {
			checked++
		}
	}
	assert.LessOrEqual(t, checked, 60*50+50, "guesses checked in an hour")
}

// A growing table of clients is never reset: a client held back stays
// held back.
func TestLimiterNoReset(t *testing.T) {
	l := Limiter{Total: 1 << 30}
	for i := 0; i < 5; i++ {
		guess(&l, "192.0.2.1", t0)
	}
	for i := 0; i < 3*maxClients; i++ {
		guess(&l, fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), t0.Add(time.Second))
	}
	assert.False(t, guess(&l, "192.0.2.1", t0.Add(2*time.Second)))
	assert.LessOrEqual(t, len(l.clients), maxClients)
}

// A flood from everywhere does not lock the admin out: a client that
// logged in lately is held to its own limit only, and anyone else gets
// the total's next free guess after the wait Allow names.
func TestLimiterAdminNotLockedOut(t *testing.T) {
	var l Limiter
	assert.True(t, guess(&l, "198.51.100.7", t0))
	l.Succeeded("198.51.100.7", t0) // the admin logs in
	for i := 0; i < 1000; i++ {
		guess(&l, fmt.Sprintf("[2001:db8:%x::1]:443", i), t0.Add(time.Hour))
	}
	assert.True(t, guess(&l, "198.51.100.7", t0.Add(time.Hour)), "the admin's usual address")
	l.Succeeded("198.51.100.7", t0.Add(time.Hour))
	ok, wait := l.Allow("203.0.113.9", t0.Add(time.Hour))
	assert.False(t, ok, "a new address during the flood waits")
	assert.Positive(t, wait)
	assert.LessOrEqual(t, wait, 2*time.Second, "for the next free guess")
	assert.True(t, guess(&l, "203.0.113.9", t0.Add(time.Hour+wait)))
	assert.Equal(t, "2001:db8:0:1::/64", ClientKey("[2001:db8:0:1:aaaa::1]:80"))
	assert.Equal(t, "192.0.2.1", ClientKey("[::ffff:192.0.2.1]:80"))
}

// An attacker on one network (an IPv6 /48 of 65,536 /64s, or an IPv4
// /24) takes a fifth of the total: the admin on another network gets in
// at once.
func TestLimiterOneNetwork(t *testing.T) {
	var l Limiter
	checked := 0
	for i := 0; i < 1<<16; i++ {
		if guess(&l, fmt.Sprintf("[2001:db8:7:%x::1]:443", i), t0) {
			checked++
		}
	}
	assert.Equal(t, 10, checked, "guesses checked from one /48")
	checked = 0
	for i := 0; i < 256; i++ {
		if guess(&l, fmt.Sprintf("192.0.2.%d:443", i), t0) {
			checked++
		}
	}
	assert.Equal(t, 10, checked, "guesses checked from one /24")
	assert.True(t, guess(&l, "198.51.100.7", t0), "the admin, elsewhere")
	l.Succeeded("198.51.100.7", t0)
	ok, wait := l.Allow("[2001:db8:7:ffff::1]:443", t0.Add(30*time.Second))
	assert.False(t, ok)
	assert.Equal(t, 30*time.Second, wait, "until the network's minute ends")
}
