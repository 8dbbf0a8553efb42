package local

import "golang.org/x/sys/unix"

// addressSlackMB is address space a Python worker maps without using it
// (the interpreter, shared libraries, thread stacks), allowed on top of the
// memory size so that the limit bites on what the handler allocates.
const addressSlackMB = 64

// limitMemory caps the worker's address space (RLIMIT_AS) near its memory
// size. It is best effort: Lambda counts resident memory and kills the
// function, while here an allocation past the limit fails and Python raises
// MemoryError, which the handler sees like any exception.
func limitMemory(pid, memoryMB int) error {
	if memoryMB <= 0 {
		return nil
	}
	n := uint64(memoryMB+addressSlackMB) << 20
	return unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: n, Max: n}, nil)
}
