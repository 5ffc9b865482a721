//go:build race

package config

// raceEnabled: the race detector multiplies time and memory (its documentation says 2-20×
// and 5-10×), which the bounds of bomb_test.go allow for.
const raceEnabled = true
