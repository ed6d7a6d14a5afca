//go:build race

package vic

const raceOn = true
