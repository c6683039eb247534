//go:build !race

package inbox

// raceEnabled says the race detector is on: it multiplies allocations,
// so the memory bounds are not measured under it.
const raceEnabled = false
