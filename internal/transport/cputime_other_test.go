//go:build !unix

package transport

import "time"

// processCPU is not available here; the benchmarks skip the metric.
func processCPU() (time.Duration, bool) { return 0, false }
