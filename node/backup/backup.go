// Package backup is the file `kappa backup save` writes and `kappa server
// --restore` reads: a header describing a copy of the replicated state
// (cluster, index, term, versions, state hash, sha256 of the body) and
// the state's bytes. The state names checkpoint-store keys; LiveKeys and
// Verify say which of them a restore needs and whether a store has them.
package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// magic is the file's first line; the header follows as one line of JSON,
// then the state's bytes.
const magic = "KAPPA-BACKUP 1\n"

// maxHeader bounds the header line, so a wrong file is refused at once.
const maxHeader = 64 << 10

// Header describes the state in a backup.
type Header struct {
	ClusterID string `json:"cluster_id"`
	// Index is the Raft index the state was read at, Term the leader's
	// term then.
	Index    uint64    `json:"index"`
	Term     uint64    `json:"term"`
	LeaderID string    `json:"leader_id"`
	Created  time.Time `json:"created"`
	// The leader's build, the state's layout and the cluster's command
	// version: a node restores only what it knows.
	KappaVersion    string `json:"kappa_version"`
	KappaCommit     string `json:"kappa_commit"`
	SnapshotVersion uint32 `json:"snapshot_version"`
	CommandVersion  uint32 `json:"command_version"`
	// StateHash is the FSM's state hash of the body; a restored node must
	// reach it.
	StateHash string `json:"state_hash"`
	// Store is the cluster's checkpoint store, without secrets.
	Store       string `json:"store"`
	Jobs        uint64 `json:"jobs"`
	RunningJobs uint64 `json:"running_jobs"`
	Tasks       uint64 `json:"tasks"`
	// Size and SHA256 are the body's length and hex sha256.
	Size   uint64 `json:"size"`
	SHA256 string `json:"sha256"`
}

// Backup is a header and the state's bytes (a marshaled fsm state).
type Backup struct {
	Header
	State []byte
}

// FromWire makes a backup of what the leader streamed, checking that the
// bytes are as many as it announced.
func FromWire(h *wire.BackupHeader, state []byte) (*Backup, error) {
	if uint64(len(state)) != h.GetSize() {
		return nil, fmt.Errorf("backup: the leader announced %d bytes of state and sent %d", h.GetSize(), len(state))
	}
	sum := sha256.Sum256(state)
	return &Backup{Header: Header{
		ClusterID: h.GetClusterId(), Index: h.GetIndex(), Term: h.GetTerm(), LeaderID: h.GetLeaderId(),
		Created: time.UnixMilli(h.GetCreatedUnixMs()).UTC(), KappaVersion: h.GetKappaVersion(), KappaCommit: h.GetKappaCommit(),
		SnapshotVersion: h.GetSnapshotVersion(), CommandVersion: h.GetCommandVersion(), StateHash: h.GetStateHash(),
		Store: h.GetStore(), Jobs: h.GetJobs(), RunningJobs: h.GetRunningJobs(), Tasks: h.GetTasks(),
		Size: uint64(len(state)), SHA256: hex.EncodeToString(sum[:]),
	}, State: state}, nil
}

// WriteFile writes the backup to path: through a temporary file that is
// synced and renamed, so path holds a whole backup or nothing new. The file
// is readable by its owner only: the state holds everything the cluster
// knows.
func (b *Backup) WriteFile(path string) error {
	hdr, err := json.Marshal(b.Header)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("backup: cannot write next to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	w.WriteString(magic)
	w.Write(hdr)
	w.WriteByte('\n')
	w.Write(b.State)
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// ReadFile reads a backup and checks it is whole: its length and sha256
// are the header's.
func ReadFile(path string) (*Backup, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if first, err := r.ReadString('\n'); err != nil || first != magic {
		return nil, fmt.Errorf("backup: %s is not a Kappa backup (it does not start with %q)", path, magic[:len(magic)-1])
	}
	line, err := readLine(r)
	if err != nil {
		return nil, fmt.Errorf("backup: %s: the header: %w", path, err)
	}
	b := &Backup{}
	if err := json.Unmarshal(line, &b.Header); err != nil {
		return nil, fmt.Errorf("backup: %s: the header does not decode: %w", path, err)
	}
	if b.State, err = io.ReadAll(r); err != nil {
		return nil, fmt.Errorf("backup: reading %s: %w", path, err)
	}
	if uint64(len(b.State)) != b.Size {
		return nil, fmt.Errorf("backup: %s holds %d bytes of state, its header says %d: the file is truncated or damaged", path, len(b.State), b.Size)
	}
	sum := sha256.Sum256(b.State)
	if got := hex.EncodeToString(sum[:]); got != b.SHA256 {
		return nil, fmt.Errorf("backup: %s: the state's sha256 is %s, its header says %s: the file is damaged", path, got, b.SHA256)
	}
	return b, nil
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, more, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, part...)
		if len(line) > maxHeader {
			return nil, fmt.Errorf("longer than %d bytes", maxHeader)
		}
		if !more {
			return line, nil
		}
	}
}

// Machine decodes the state and checks that its state hash is the
// header's: the state a restored node would start from.
func (b *Backup) Machine() (*fsm.Machine, error) {
	m := fsm.New()
	if err := m.Restore(b.State); err != nil {
		var ve *fsm.VersionError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("backup: this kappa cannot read it: %w", err)
		}
		return nil, fmt.Errorf("backup: %w", err)
	}
	if got := m.StateHash(); got != b.StateHash {
		return nil, fmt.Errorf("backup: the state's hash is %s, its header says %s", got, b.StateHash)
	}
	if m.AppliedIndex() != b.Index || m.ClusterID() != b.ClusterID {
		return nil, fmt.Errorf("backup: the state is of cluster %q at index %d, its header says %q at %d", m.ClusterID(), m.AppliedIndex(), b.ClusterID, b.Index)
	}
	return m, nil
}

// Describe is the header as the CLI prints it, one "name  value" per line.
func (b *Backup) Describe() string {
	var w bytes.Buffer
	row := func(name, format string, args ...any) {
		fmt.Fprintf(&w, "%-12s%s\n", name, fmt.Sprintf(format, args...))
	}
	row("cluster", "%s", b.ClusterID)
	row("index", "%d (term %d, leader %s)", b.Index, b.Term, b.LeaderID)
	row("created", "%s", b.Created.Format(time.RFC3339))
	row("state hash", "%s", b.StateHash)
	row("state", "%d bytes, sha256 %s", b.Size, b.SHA256)
	row("jobs", "%d (%d running), %d tasks", b.Jobs, b.RunningJobs, b.Tasks)
	row("store", "%s", b.Store)
	row("written by", "kappa %s (%s); snapshot version %d, cluster command version %d", b.KappaVersion, b.KappaCommit, b.SnapshotVersion, b.CommandVersion)
	return w.String()
}
