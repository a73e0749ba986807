package sqlstore

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArrays: a multi-row statement's rows become one array per column,
// of its column's type; a value of another type, or a row of another
// length, is an error that names it (the batch is then retried event by
// event), never a panic.
func TestArrays(t *testing.T) {
	m := multiRow{head: "INSERT INTO t (a, b, c)", types: "itb", tail: ""}
	got, err := m.arrays([][]any{{int64(1), "x", []byte("p")}, {2, "y", []byte(nil)}})
	require.NoError(t, err)
	assert.Equal(t, []any{[]int64{1, 2}, []string{"x", "y"}, [][]byte{[]byte("p"), nil}}, got)

	got, err = m.arrays(nil)
	require.NoError(t, err)
	assert.Equal(t, []any{[]int64{}, []string{}, [][]byte{}}, got, "typed and empty, not NULL")

	_, err = m.arrays([][]any{{int64(1), "x", []byte("p")}, {int64(2), 3, []byte("q")}})
	assert.EqualError(t, err, "row 1, column 1 of INSERT INTO t (a, b, c)…: int, not of type t")
	_, err = m.arrays([][]any{{"1", "x", []byte("p")}})
	assert.EqualError(t, err, "row 0, column 0 of INSERT INTO t (a, b, c)…: string, not of type i")
	_, err = m.arrays([][]any{{int64(1), "x"}})
	assert.EqualError(t, err, "row 0 of INSERT INTO t (a, b, c)…: 2 values for 3 columns")

	assert.Equal(t, "INSERT INTO t (a, b, c) SELECT * FROM unnest(?::bigint[], ?::text[], ?::bytea[]) ON CONFLICT DO NOTHING",
		multiRow{head: "INSERT INTO t (a, b, c)", types: "itb", tail: "ON CONFLICT DO NOTHING"}.arrayText())
	assert.Panics(t, func() { _ = multiRow{types: "ix"}.unnest() }, "a typo in types")
	for _, m := range multiRows {
		assert.Equal(t, strings.Count(m.text(1), "?"), len(m.types), m.head)
	}
}

// TestArrayRows: a statement of arrays takes rows until their payloads
// reach the bound, one at least.
func TestArrayRows(t *testing.T) {
	row := func(n int) []any { return []any{int64(1), make([]byte, n)} }
	rows := [][]any{row(6), row(6), row(6), row(30), row(1)}
	assert.Equal(t, 2, arrayRows(rows, 10), "6, then 12 ≥ 10")
	assert.Equal(t, 1, arrayRows(rows[3:], 10), "one too large alone")
	assert.Equal(t, 5, arrayRows(rows, 100))
	assert.Equal(t, 3, arrayRows([][]any{{int64(1)}, {int64(2)}, {int64(3)}}, 1), "no bytes")
	assert.Equal(t, 0, arrayRows(nil, 10))
}
