//go:build unix

package tap_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used.
// The benchmarks report it per operation: on a shared machine wall time
// per op swings with other load, CPU time per op much less.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
