package event

import (
	"strings"
	"testing"
	"time"
)

// TestParameterizeColonRunIsLinear: a message of "1:1:1:…" (a hex group
// and a colon, repeated: a hostile message, or a dump of ports or
// counters) costs time linear in its length. matchIPv6 scanned from every
// group to the end of the run before it rejected it (more than 8 groups),
// which made Parameterize quadratic: 64 KiB took 5 s, 128 KiB 34 s, and a
// 1 MiB message (errlogd's MaxEvent) half an hour of an ingest worker.
func TestParameterizeColonRunIsLinear(t *testing.T) {
	msg := "connect failed: " + strings.Repeat("1:", 16<<10) // 32 KiB
	start := time.Now()
	ev := &Event{Logentry: &Logentry{Message: msg}}
	_ = ev.GroupKey()
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("GroupKey of a 32 KiB message of \"1:\" took %v (a linear scan takes about 1 ms)", d)
	}
	msg = "at " + strings.Repeat("12:34:", 6<<10) // clock-like, 36 KiB
	start = time.Now()
	_ = Parameterize(msg)
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("Parameterize of a 36 KiB run of \"12:34:\" took %v", d)
	}
}

// TestParameterizeRandomIDs: "user <uuid> not found" for any UUID, and
// one placeholder for any MongoDB ObjectId, trace ID or SHA-1. Grouping
// 3's glued-id pass runs before the UUID and hex passes and takes a run
// of six or more digits after a hex letter, ending at "-" or the word's
// end, as an id glued to a name: about 9% of random UUIDs
// ("b2981587-d1cb-4267-adcd-970ec67ddf5e" → "b<int>-d1cb-<int>-adcd-<hex>")
// become a message of their own, each a group of its own, and about 5% of
// 24-, 32- and 40-digit hex ids "<hex><int>", a second group.
func TestParameterizeRandomIDs(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{"b2981587-d1cb-4267-adcd-970ec67ddf5e", "user <uuid> not found"},
		{"b76f63de-cec3-412e-a4e4-8a7602552929", "user <uuid> not found"},
		{"ef188066-4ec2-4988-a992-25ef6188d561", "user <uuid> not found"},
		{"444a3681b525a1ed53740612", "user <hex> not found"},         // ObjectId
		{"30898407c835f6bab26ad9b215132307", "user <hex> not found"}, // trace ID
		{"96abe6daebe7ba2292ba6658cd16e9ffef704020", "user <hex> not found"},
	} {
		if got := Parameterize("user " + c.id + " not found"); got != c.want {
			t.Errorf("Parameterize(%q) = %q, want %q", "user "+c.id+" not found", got, c.want)
		}
	}
}
