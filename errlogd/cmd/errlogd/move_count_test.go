//go:build !race

package main

// moveEvents is the store TestMoveStores moves: 100,000 events, as the
// issue asks (about 10 s on 2 cores); under -race, 5,000 (move_count_race_test.go).
const moveEvents = 100_000
