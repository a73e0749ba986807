package sqlstore

import (
	"strings"
	"testing"

	"github.com/errlog/errlog/errlogd/store"
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

// TestSettle: each outcome's meaning, in the order of the batches: a
// group is new on its first outcome only; its total runs on; a resolved
// group's regression is the outcome of its first event newer than the
// status change, even when it is not the first in the list (outcomes
// adopted from another process come after this process's own), and
// only one.
func TestSettle(t *testing.T) {
	groups := map[int64]*groupAgg{
		1: {id: 1},
		2: {id: 2, prevCount: 10, prevStatus: string(store.StatusResolved), statusEvent: 100},
		3: {id: 3, prevCount: 4, prevStatus: string(store.StatusResolved), statusEvent: 100},
	}
	outs := settle([]store.Outcome{
		{GroupID: 1, Count: 2, LastEventID: 90},
		{GroupID: 2, Count: 1, LastEventID: 95},  // before the change
		{GroupID: 2, Count: 3, LastEventID: 130}, // after it
		{GroupID: 1, Count: 1, LastEventID: 131},
		{GroupID: 2, Count: 1, LastEventID: 110}, // adopted: the first after the change
		{GroupID: 3, Count: 1, LastEventID: 99},  // before: no regression
	}, groups)
	type got struct {
		New, Regression bool
		Total           int64
	}
	var all []got
	for _, o := range outs {
		all = append(all, got{o.New, o.Regression, o.Total})
	}
	assert.Equal(t, []got{
		{New: true, Total: 2},
		{Total: 11},
		{Total: 14},
		{Total: 3},
		{Regression: true, Total: 15},
		{Total: 5},
	}, all)
}
