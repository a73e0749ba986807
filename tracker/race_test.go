//go:build race

package tracker

// raceDetector is set under -race, where each HTTP round trip costs ten
// times as much: load tests scale down so that they stay in budget.
const raceDetector = true
