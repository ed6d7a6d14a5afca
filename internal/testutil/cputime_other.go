//go:build !unix

package testutil

import "time"

// ProcessCPU is not available on this platform: it reports false, and
// benchmarks leave their CPU metrics out.
func ProcessCPU() (time.Duration, bool) { return 0, false }
