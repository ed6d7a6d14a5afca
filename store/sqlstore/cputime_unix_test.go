//go:build unix

package sqlstore_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used.
// On a shared machine wall time per call swings with other load, CPU time
// per call much less.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
