//go:build !race

package vic_test

const raceEnabled = false
