//go:build race

package visa

const raceOn = true
