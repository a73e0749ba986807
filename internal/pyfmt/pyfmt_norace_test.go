//go:build !race

package pyfmt

import "testing"

func TestAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	sp := &Spec{Conv: 'f', Flags: FlagZero | FlagPlus, Width: 12, Prec: 3}
	ss := &Spec{Conv: 'r', Width: 20, Prec: -1}
	n := testing.AllocsPerRun(100, func() {
		b := AppendFloat(buf[:0], -3.14159, sp)
		b = AppendInt(b, 255, &Spec{Conv: 'x', Flags: FlagAlt, Width: 8, Prec: -1})
		b = AppendString(b, "it's", ss)
		_ = AppendFloatStr(b, 1e22)
	})
	if n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
