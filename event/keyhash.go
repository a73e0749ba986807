package event

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
)

// sum128 is grouping 2's hash of the grouping components: 128 bits from
// two 64-bit lanes that each read every byte, 16 bytes a step, each step a
// 64×64→128-bit multiplication folded to 64 bits (the mixing of wyhash
// and rapidhash, with constants of its own: the first 64 bits of the
// fractional parts of the square roots of the first primes).
//
// It is no cryptographic hash, and needs none: a key only tells one
// project's groups apart, and whoever can send a project an event can as
// well send the components of the group it wants to join. It tells apart
// what a person would: TestSum128 checks its spread over a million
// near-identical inputs. SHA-256, grouping 1's hash, cost more than the
// rest of the key with source lines in it (issue 24: 4 blocks of SHA-256
// for a 201-byte input, about 140 ns; this, about 25 ns).
//
// The keys it makes are stored: it must never change (a new hash is a new
// grouping version).
func sum128(p []byte) (uint64, uint64) {
	n := uint64(len(p))
	x, y := k0^n, k1^bits.RotateLeft64(n, 32)
	for len(p) >= 16 {
		a, b := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
		x ^= fold(a^k2, b^x)
		y ^= fold(a^y, b^k3)
		p = p[16:]
	}
	if len(p) > 0 {
		var t [16]byte
		copy(t[:], p)
		a, b := binary.LittleEndian.Uint64(t[:]), binary.LittleEndian.Uint64(t[8:])
		x ^= fold(a^k2, b^x)
		y ^= fold(a^y, b^k3)
	}
	// Two rounds more, so that each bit of the lanes reaches every bit of
	// the key, each half from both lanes.
	x, y = fold(x^k4, y^k5), fold(y^k4, x^k5)
	return fold(x^k0, k3^n), fold(y^k1, k2^n)
}

// key2 is grouping 2's key of the components b: sum128 in hex.
func key2(b []byte) string {
	var k [32]byte
	hi, lo := sum128(b)
	return string(appendKey(k[:0], hi, lo))
}

// key1 is grouping 1's key of the components b: the first 16 bytes of
// their SHA-256, in hex.
func key1(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// fold is the 128-bit product of a and b, its halves xored.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// √2, √3, √5, √7, √11, √13: their fractional parts' first 64 bits.
const (
	k0 = 0x6a09e667f3bcc908
	k1 = 0xbb67ae8584caa73b
	k2 = 0x3c6ef372fe94f82b
	k3 = 0xa54ff53a5f1d36f1
	k4 = 0x510e527fade682d1
	k5 = 0x9b05688c2b3e6c1f
)

// appendKey appends the hex form of a 128-bit hash: 32 digits, the key.
func appendKey(b []byte, hi, lo uint64) []byte {
	const digits = "0123456789abcdef"
	for s := 60; s >= 0; s -= 4 {
		b = append(b, digits[hi>>uint(s)&15])
	}
	for s := 60; s >= 0; s -= 4 {
		b = append(b, digits[lo>>uint(s)&15])
	}
	return b
}
