//go:build race

package reliability

// raceEnabled is reported with the chaos figures: the race detector slows
// the sandbox's cryptography several times over.
const raceEnabled = true
