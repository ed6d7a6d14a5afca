//go:build race

package fleet

// raceEnabled is reported with the figures. With FLEET_RACE=1 the replicas
// are built with the race detector too, and a race they report fails the
// test.
const raceEnabled = true
