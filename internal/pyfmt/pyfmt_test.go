package pyfmt

import (
	"math"
	"strconv"
	"testing"

	"github.com/errlog/errlog/internal/cpython"
)

// pyValue is a value both sides format: Type is "int", "float" or "str",
// Text its Python literal's text.
type pyValue struct {
	Type, Text string
}

type pyCase struct {
	Format string
	V      pyValue
	spec   Spec
}

const pyScript = `
import json, sys
out = []
for c in json.load(sys.stdin):
    v = {"int": int, "float": float, "str": str}[c["V"]["Type"]](c["V"]["Text"])
    try:
        out.append(c["Format"] % v)
    except Exception:
        out.append(None)
json.dump(out, sys.stdout)
`

// runPython formats cases with CPython's % operator; nil for a case
// Python rejects.
func runPython(t *testing.T, cases []pyCase) []*string {
	t.Helper()
	var res []*string
	cpython.Run(t, pyScript, cases, &res)
	if len(res) != len(cases) {
		t.Fatalf("python3 returned %d results for %d cases", len(res), len(cases))
	}
	return res
}

func goFormat(c pyCase) string {
	var b []byte
	switch c.V.Type {
	case "int":
		if n, err := strconv.ParseInt(c.V.Text, 10, 64); err == nil {
			b = AppendInt(b, n, &c.spec)
		} else {
			u, _ := strconv.ParseUint(c.V.Text, 10, 64)
			b = AppendUint(b, u, &c.spec)
		}
	case "float":
		x, _ := strconv.ParseFloat(c.V.Text, 64)
		b = AppendFloat(b, x, &c.spec)
	default:
		b = AppendString(b, c.V.Text, &c.spec)
	}
	return string(b)
}

func intV(n int64) pyValue     { return pyValue{"int", strconv.FormatInt(n, 10)} }
func floatV(x float64) pyValue { return pyValue{"float", strconv.FormatFloat(x, 'g', -1, 64)} }
func strV(s string) pyValue    { return pyValue{"str", s} }

// TestSpecsPython compares every conversion with a spread of flags, widths
// and precisions over ints, floats and strings with CPython's % operator.
func TestSpecsPython(t *testing.T) {
	values := []pyValue{
		intV(0), intV(7), intV(-42), intV(255), intV(1 << 40), intV(-(1 << 62)), intV(math.MinInt64),
		{"int", strconv.FormatUint(math.MaxUint64, 10)},
		floatV(0), floatV(math.Copysign(0, -1)), floatV(0.5), floatV(1.5), floatV(2.675), floatV(-3.14159),
		floatV(1e-5), floatV(0.0001), floatV(123456789), floatV(1e15), floatV(1e16), floatV(1e22),
		floatV(-1.5e300), floatV(0.1 + 0.2), floatV(5e-324), floatV(99.99),
		floatV(math.Inf(1)), floatV(math.Inf(-1)), floatV(math.NaN()),
		strV(""), strV("x"), strV("héllo"), strV("it's"), strV("a\"b'c\n"), strV("\u200b😀\u00a0"), strV("日本語"),
	}
	type flag struct {
		text string
		bits uint8
	}
	flags := []flag{{"", 0}, {"-", FlagMinus}, {"0", FlagZero}, {"+", FlagPlus}, {" ", FlagSpace}, {"#", FlagAlt},
		{"-+", FlagMinus | FlagPlus}, {"0+", FlagZero | FlagPlus}, {"#0", FlagAlt | FlagZero},
		{"- ", FlagMinus | FlagSpace}, {"#-", FlagAlt | FlagMinus}}
	widths := []int{0, 1, 9}
	precs := []int{-1, 0, 1, 4, 12}
	var cases []pyCase
	for _, conv := range []byte("sradiuxXoeEfFgGc") {
		for _, fl := range flags {
			for _, w := range widths {
				for _, pr := range precs {
					format := "%" + fl.text
					if w > 0 {
						format += strconv.Itoa(w)
					}
					if pr >= 0 {
						format += "." + strconv.Itoa(pr)
					}
					format += string(conv) + "|"
					sp := Spec{Conv: conv, Flags: fl.bits, Width: w, Prec: pr}
					for _, v := range values {
						cases = append(cases, pyCase{Format: format, V: v, spec: sp})
					}
				}
			}
		}
	}
	res := runPython(t, cases)
	compared, failed := 0, 0
	for i, c := range cases {
		got := goFormat(c) + "|"
		if res[i] == nil {
			continue
		}
		compared++
		if want := *res[i]; got != want {
			failed++
			if failed <= 40 {
				t.Errorf("%q %% %s(%q): go %q, py %q", c.Format, c.V.Type, c.V.Text, got, want)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d differ", failed, compared)
	}
	if compared < len(cases)/2 {
		t.Errorf("only %d of %d cases compared", compared, len(cases))
	}
	t.Logf("%d cases equal to CPython's", compared)
}

// TestReprPython compares str() of floats and repr()/ascii() of strings.
func TestReprPython(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, 0.1, 1e16, 1e17, 1.5e-5, 1e-4, 123456.789, 2.5e300, 5e-324}
	strs := []string{"", "plain", "it's", `"q"`, `a"b'c\`, "tab\tnl\n\x01\x7f", "é ✓ 日本 😀", "\u200b\u00a0", "bad\xffutf8"}
	var cases []pyCase
	for _, x := range floats {
		cases = append(cases, pyCase{Format: "%s", V: floatV(x)}, pyCase{Format: "%r", V: floatV(x)})
	}
	for _, s := range strs {
		if s == "bad\xffutf8" {
			continue // JSON cannot carry it to Python; checked below
		}
		cases = append(cases, pyCase{Format: "%r", V: strV(s)}, pyCase{Format: "%a", V: strV(s)})
	}
	res := runPython(t, cases)
	for i, c := range cases {
		var got []byte
		switch {
		case c.V.Type == "float":
			x, _ := strconv.ParseFloat(c.V.Text, 64)
			got = AppendFloatStr(nil, x)
		default:
			got = AppendRepr(nil, c.V.Text, c.Format == "%a")
		}
		if res[i] == nil || string(got) != *res[i] {
			t.Errorf("%s of %q: go %q, py %v", c.Format, c.V.Text, got, res[i])
		}
	}
	if got := string(AppendRepr(nil, "bad\xffutf8", false)); got != `'bad\xffutf8'` {
		t.Errorf("repr of invalid UTF-8 = %s", got)
	}
}
