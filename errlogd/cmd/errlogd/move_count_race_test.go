//go:build race

package main

// moveEvents under -race: 5,000 events in the same 1,000 groups, with the
// same interruption and resumption. (The race detector slows the store's
// writer, pure-Go SQLite and zstd included, 10 to 20 times: 20,000 events
// took a minute and a half to build on 2 loaded cores.)
const moveEvents = 5_000
