//go:build !race

package errlog

// raceDetector is set under -race (race_test.go).
const raceDetector = false
