//go:build race

package fleet

// raceEnabled: the replicas are built with the race detector too, and a
// race they report fails the test.
const raceEnabled = true
