package event

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestSum128: grouping 2's hash spreads what grouping hashes. A million
// components that differ in one number give a million different values
// in each 64-bit half; flipping any one bit of an input, at any length
// around the 16-byte steps, flips each bit of the key about half the time.
func TestSum128(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	his, los := make(map[uint64]bool, n), make(map[uint64]bool, n)
	var b []byte
	for i := 0; i < n; i++ {
		b = fmt.Appendf(b[:0], "message\x00slog\x00user %d not found\x00main\x00main\x00", i)
		hi, lo := sum128(b)
		his[hi], los[lo] = true, true
	}
	if len(his) != n || len(los) != n {
		t.Fatalf("%d inputs, %d and %d different halves", n, len(his), len(los))
	}

	r := rand.New(rand.NewSource(1))
	var flips [128]int
	trials := 0
	for l := 1; l <= 80; l++ {
		in := make([]byte, l)
		for k := 0; k < 40; k++ {
			for i := range in {
				in[i] = byte(r.Intn(256))
			}
			h0, l0 := sum128(in)
			for bit := 0; bit < 8*l; bit++ {
				in[bit/8] ^= 1 << (bit % 8)
				h1, l1 := sum128(in)
				in[bit/8] ^= 1 << (bit % 8)
				d := [2]uint64{h0 ^ h1, l0 ^ l1}
				if d[0] == 0 || d[1] == 0 {
					t.Fatalf("length %d, bit %d: a half of the key did not change", l, bit)
				}
				for j := 0; j < 128; j++ {
					if d[j/64]>>(j%64)&1 == 1 {
						flips[j]++
					}
				}
				trials++
			}
		}
	}
	total := 0
	for j, f := range flips {
		total += f
		if p := float64(f) / float64(trials); p < 0.48 || p > 0.52 {
			t.Errorf("key bit %d flipped in %.3f of %d single-bit changes", j, p, trials)
		}
	}
	if mean := float64(total) / float64(trials); mean < 63 || mean > 65 {
		t.Errorf("a bit flipped %.2f bits of 128 on average", mean)
	}
}

// TestKey2Stable: grouping 2's keys are stored; the hash never changes.
func TestKey2Stable(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "77b02f08d664e4252375443aa55097f9"},
		{"message\x00slog\x00charge failed\x00", "e71ce31731cb6e9abac6c71885504df3"},
		{"0123456789abcdef", "4ae742f9834af835885efcb0646a031f"},
		{"0123456789abcdef0", "744d7ec34e855fc3a5adaf225fc9ce7c"},
	} {
		if got := key2([]byte(tt.in)); got != tt.want {
			t.Errorf("key2(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if key2([]byte("a")) == key2([]byte("a\x00")) {
		t.Error("a trailing NUL is not counted")
	}
}
