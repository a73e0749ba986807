//go:build race

package main

// moveEvents under -race (5 to 10 times slower): 20,000 events, the same
// 1,000 groups and the same interruption and resumption.
const moveEvents = 20_000
