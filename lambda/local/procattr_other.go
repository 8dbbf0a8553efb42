//go:build unix && !linux

package local

import "syscall"

// workerProcAttr puts a worker in its own process group, so a kill reaches the
// children it spawned too.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
