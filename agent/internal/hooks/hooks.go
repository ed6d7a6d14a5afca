// Package hooks connects package agent to its test and demo package,
// agenttest, without putting test hooks in agent's public API: agent sets
// these functions at init, and agenttest calls them.
package hooks

// Interrupt returns an agent.Option (as any) that installs f, asked at every
// crash boundary of a journey; when f returns true the journey stops there
// as if the process had died. Set by package agent.
var Interrupt func(f func(boundary string) bool) any

// Boundaries lists the crash boundaries of a purchase, in order. Set by
// package agent.
var Boundaries func() []string
