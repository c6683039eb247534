//go:build !race

package inbox

// raceEnabled is true in a test binary built with -race.
const raceEnabled = false
