package local

import "syscall"

// workerProcAttr puts a worker in its own process group, so a kill reaches the
// children it spawned too, and asks the kernel to kill it if this process
// dies first, so a crashed platform leaves no orphans behind.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
