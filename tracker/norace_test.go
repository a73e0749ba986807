//go:build !race

package tracker

// raceDetector is set under -race (race_test.go).
const raceDetector = false
