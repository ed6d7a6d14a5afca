//go:build !race

package reliability

// raceEnabled: the race detector slows the sandbox's cryptography about
// tenfold, so the chaos run is smaller under it.
const raceEnabled = false
