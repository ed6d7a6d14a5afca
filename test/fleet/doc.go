// Package fleet is the fleet test of the agent: three agent replicas, each
// its own process (the replica command in this directory's replica
// folder), share one database (PostgreSQL in CI, a SQLite file elsewhere)
// and run the reconciler continuously, against cmd/visa-sandbox running as
// a fourth process with faults of every kind switched on through its admin
// endpoint, while a replica is killed with SIGKILL at random moments and
// restarted.
//
// TestFleet adds cards (each journey started on one replica, every human
// step answered through another) and purchases with idempotency keys (a
// share repeated with the same key on another replica, at once and
// afterwards), lets the reconcilers settle, and then checks, from the
// sandbox's inspection API and the database: no credential issued twice,
// no approval twice, no record lost, nothing left unfinished, every stored
// outcome equal to the sandbox's truth, every answer a caller got true, and
// every journey answered on another replica either completed or failed
// with a typed, recorded outcome that left no usable token. It also scans
// every log, reply and stored row for secrets, and fails on a data race
// reported by a replica. docs/reliability.md has the figures.
//
// This file's package holds only the replicas' HTTP vocabulary (api.go),
// shared by the test and the replica command.
package fleet
