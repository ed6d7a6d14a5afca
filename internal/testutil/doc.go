// Package testutil holds small helpers shared by the module's tests.
package testutil
