//go:build race

package storetest

// raceEnabled trims the bulk checks under the race detector, which slows
// database drivers (SQLite in pure Go above all) by an order of magnitude.
const raceEnabled = true
