//go:build race

package ingest_test

// raceEnabled: under the race detector (10× slower, and SQLite is Go
// code it instruments), the long data-driven tests send a sample; without
// it, all of it.
const raceEnabled = true
