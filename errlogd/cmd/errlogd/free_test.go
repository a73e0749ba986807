package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMinFreeZero: -min-free-mb 0 (or ERRLOGD_MIN_FREE_MB=0) asks for no
// minimum, not for ingest's default of 256 MiB.
func TestMinFreeZero(t *testing.T) {
	parse := func(env map[string]string, args ...string) *config {
		fs, c := flags("errlogd", func(k string) string { return env[k] }, io.Discard)
		require.NoError(t, fs.Parse(args))
		return c
	}
	c := parse(nil)
	assert.Equal(t, uint64(256), c.minFreeMB)
	assert.NotNil(t, c.freeCheck(), "the default checks the disk")
	assert.Nil(t, parse(nil, "-min-free-mb", "0").freeCheck())
	assert.Nil(t, parse(map[string]string{"ERRLOGD_MIN_FREE_MB": "0"}).freeCheck())
	c = parse(nil, "-min-free-mb", "1")
	free, err := c.freeCheck()()
	require.NoError(t, err)
	assert.Positive(t, free)
	assert.Nil(t, parse(nil, "-db", "postgres://x@127.0.0.1/db").freeCheck(), "PostgreSQL's disk is not ours to measure")
}
