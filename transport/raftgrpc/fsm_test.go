package raftgrpc

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// testFSM keeps every command applied, in order; its snapshot is the list.
type testFSM struct {
	mu       sync.Mutex
	applied  [][]byte
	restores int
}

func (f *testFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, append([]byte(nil), l.Data...))
	return len(f.applied)
}

func (f *testFSM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.applied)
}

// state is the number of commands and a digest of all of them in order.
func (f *testFSM) state() (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := sha256.New()
	for _, cmd := range f.applied {
		_, _ = h.Write(binary.AppendUvarint(nil, uint64(len(cmd))))
		_, _ = h.Write(cmd)
	}
	return len(f.applied), fmt.Sprintf("%x", h.Sum(nil))
}

func (f *testFSM) restoreCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restores
}

func (f *testFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fsmSnapshot(append([][]byte(nil), f.applied...)), nil
}

func (f *testFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	var applied [][]byte
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return errors.New("test FSM: corrupt snapshot")
		}
		applied = append(applied, data[k:k+int(n)])
		data = data[k+int(n):]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied, f.restores = applied, f.restores+1
	return nil
}

type fsmSnapshot [][]byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	var buf []byte
	for _, cmd := range s {
		buf = binary.AppendUvarint(buf, uint64(len(cmd)))
		buf = append(buf, cmd...)
	}
	if _, err := sink.Write(buf); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
