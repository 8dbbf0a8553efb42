package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Keys: every node reads the cluster's master keys from its own key file
// (Config.Keys); the replicated state holds only the current key id and
// each id's public fingerprint (fsm/keys.go). The leader hands a claiming
// task its job's derived keys, never a master key. A node whose key file
// disagrees with the state is refused at start, at join, and stops when
// it finds out later (a rotation it missed, a file replaced).

// keysSince is the command version that carries key configurations.
const keysSince = 2

// keyMismatch says how this node's keyring disagrees with the cluster's
// key configuration, or nil. A cluster without one (below command
// version 2) agrees with anything.
func keyMismatch(ring *checkpoint.Keyring, current string, checks []*pb.KeyCheck) error {
	if current == "" {
		return nil
	}
	if !ring.Has(current) {
		return fmt.Errorf("it lacks the cluster's current key id %q (it holds %s)", current, strings.Join(ring.IDs(), ", "))
	}
	for _, c := range checks {
		if fp := ring.Fingerprint(c.GetId()); fp != "" && fp != c.GetFingerprint() {
			return fmt.Errorf("it holds another key for key id %q than the cluster (fingerprint %.16s…, the cluster's %.16s…)", c.GetId(), fp, c.GetFingerprint())
		}
	}
	return nil
}

// keyConfigFile remembers, in the data dir, the key configuration this
// node last applied (ids and fingerprints, no key), so a node restarted
// with a key file that disagrees is refused at start, before its log is
// replayed.
const keyConfigFile = "key-config"

// checkKeyFile compares this node's key file with the replicated key
// configuration (or, before the state has it, the one this node last
// saw): mismatch says how they disagree; loadErr that the file does not
// load at all.
func (n *Node) checkKeyFile() (mismatch, loadErr error) {
	ring, err := n.cfg.Keys.Keyring()
	if err != nil {
		return nil, err
	}
	var current string
	var checks []*pb.KeyCheck
	n.replica.read(func(m *fsm.Machine) { current, checks = m.KeyID(), m.KeyChecks() })
	saved := false
	if current == "" {
		current, checks = n.savedKeyConfig()
		saved = true
	}
	if err := keyMismatch(ring, current, checks); err != nil {
		return fmt.Errorf("node %s: cluster key file %s does not match the cluster: %w; every node needs the same key file (docs/security.md, \"Keys\")",
			n.cfg.NodeID, n.cfg.Keys.Path(), err), nil
	}
	if !saved {
		n.saveKeyConfig(current, checks)
	}
	return nil, nil
}

func formatKeyConfig(current string, checks []*pb.KeyCheck) string {
	var b strings.Builder
	fmt.Fprintf(&b, "current %s\n", current)
	for _, c := range checks {
		fmt.Fprintf(&b, "%s %s\n", c.GetId(), c.GetFingerprint())
	}
	return b.String()
}

// saveKeyConfig writes the key configuration to the data dir when it
// changed.
func (n *Node) saveKeyConfig(current string, checks []*pb.KeyCheck) {
	path := filepath.Join(n.cfg.DataDir, keyConfigFile)
	text := formatKeyConfig(current, checks)
	if old, err := os.ReadFile(path); err == nil && string(old) == text {
		return
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		n.log.Warn("cannot record the key configuration", "path", path, "err", err)
	}
}

func (n *Node) savedKeyConfig() (current string, checks []*pb.KeyCheck) {
	data, err := os.ReadFile(filepath.Join(n.cfg.DataDir, keyConfigFile))
	if err != nil {
		return "", nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) != 2:
		case f[0] == "current":
			current = f[1]
		default:
			checks = append(checks, &pb.KeyCheck{Id: f[0], Fingerprint: f[1]})
		}
	}
	return current, checks
}

// keyWatch re-checks the key file whenever the key configuration changes
// (and every few seconds, for the file): a node that cannot seal or verify
// with the cluster's keys stops rather than lead with the wrong ones. A key
// file that does not load (mid-edit) is only logged.
func (n *Node) keyWatch() {
	defer n.wg.Done()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	warned, checked := "", ""
	for {
		changed := n.replica.changed.wait()
		var config string
		n.replica.read(func(m *fsm.Machine) { config = formatKeyConfig(m.KeyID(), m.KeyChecks()) })
		if config != checked {
			mismatch, loadErr := n.checkKeyFile()
			if mismatch != nil {
				n.halt(mismatch)
				return
			}
			if loadErr != nil && loadErr.Error() != warned {
				n.log.Warn("the cluster key file does not load; tasks cannot claim on this node until it does", "err", loadErr)
			}
			warned, checked = "", config
			if loadErr != nil {
				warned, checked = loadErr.Error(), ""
			}
		}
		select {
		case <-n.done:
			return
		case <-changed:
		case <-tick.C:
			checked = "" // the file may have changed
		}
	}
}

// keyFingerprints lists the key ids this node's key file holds (for
// ClusterStatus and Join); never a key.
func (n *Node) keyFingerprints() ([]*wire.KeyFingerprint, error) {
	ring, err := n.cfg.Keys.Keyring()
	if err != nil {
		return nil, err
	}
	var out []*wire.KeyFingerprint
	for _, id := range ring.IDs() {
		out = append(out, &wire.KeyFingerprint{Id: id, Fingerprint: ring.Fingerprint(id)})
	}
	return out, nil
}

// checkJoinerKeys refuses a joining node whose key file disagrees with the
// cluster's key configuration.
func (n *Node) checkJoinerKeys(id string, keys []*wire.KeyFingerprint) error {
	var current string
	var checks []*pb.KeyCheck
	n.replica.read(func(m *fsm.Machine) { current, checks = m.KeyID(), m.KeyChecks() })
	if current == "" {
		return nil
	}
	held := map[string]string{}
	for _, k := range keys {
		held[k.GetId()] = k.GetFingerprint()
	}
	if _, ok := held[current]; !ok {
		return fmt.Errorf("node %q cannot join: its cluster key file lacks the cluster's current key id %q; give it the cluster's key file (docs/security.md, \"Keys\")", id, current)
	}
	for _, c := range checks {
		if fp, ok := held[c.GetId()]; ok && fp != c.GetFingerprint() {
			return fmt.Errorf("node %q cannot join: its cluster key file holds another key for key id %q (fingerprint %.16s…, the cluster's %.16s…); give it the cluster's key file",
				id, c.GetId(), fp, c.GetFingerprint())
		}
	}
	return nil
}

// ensureKeys, run by the leader, sets the cluster's key configuration from
// its key file (the file's first key id becomes current) once every voter
// applies command version 2 and holds that key. Until then the cluster
// keeps its legacy cluster-wide key, if it has one.
func (n *Node) ensureKeys(ctx context.Context) error {
	var version uint32
	var current string
	n.replica.read(func(m *fsm.Machine) { version, current = m.ClusterVersion(), m.KeyID() })
	if version < keysSince || current != "" {
		return nil
	}
	ring, err := n.cfg.Keys.Keyring()
	if err != nil {
		return err
	}
	first := ring.IDs()[0]
	if _, err := n.votersHoldKey(ctx, first, ring.Fingerprint(first)); err != nil {
		return fmt.Errorf("cannot set the cluster's keys yet: %w", err)
	}
	set := &pb.SetKeys{CurrentId: first}
	for _, id := range ring.IDs() {
		set.Checks = append(set.Checks, &pb.KeyCheck{Id: id, Fingerprint: ring.Fingerprint(id)})
	}
	if _, err := n.commit(ctx, &pb.Command{Op: &pb.Command_SetKeys{SetKeys: set}}); err != nil {
		return err
	}
	n.log.Info("the cluster's blobs are sealed with keys from the key files now", "key_id", first)
	return nil
}

// errVoterKey: a voter lacks a key (or holds another one) or cannot say.
var errVoterKey = errors.New("voter key check failed")

// votersHoldKey asks every voter whether its key file holds key id with
// this fingerprint, and names the first that does not (or cannot answer).
func (n *Node) votersHoldKey(ctx context.Context, id, fingerprint string) ([]string, error) {
	cfg, err := n.configuration()
	if err != nil {
		return nil, err
	}
	var checked []string
	for _, s := range cfg.Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voter := string(s.ID)
		keys, err := n.voterKeys(ctx, voter)
		if err != nil {
			return checked, fmt.Errorf("%w: cannot learn which keys node %s holds: %v", errVoterKey, voter, err)
		}
		found := false
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.GetId())
			if k.GetId() != id {
				continue
			}
			if k.GetFingerprint() != fingerprint {
				return checked, fmt.Errorf("%w: node %s's cluster key file holds another key for key id %q (fingerprint %.16s…, this leader's %.16s…)",
					errVoterKey, voter, id, k.GetFingerprint(), fingerprint)
			}
			found = true
		}
		if !found {
			return checked, fmt.Errorf("%w: node %s's cluster key file lacks key id %q (it holds %s); add the key to every node's file first (docs/security.md, \"Rotating keys\")",
				errVoterKey, voter, id, strings.Join(ids, ", "))
		}
		checked = append(checked, voter)
	}
	return checked, nil
}

// voterKeys is what one voter reports holding: this node's own file, or
// the key ids another node's ClusterStatus lists.
func (n *Node) voterKeys(ctx context.Context, id string) ([]*wire.KeyFingerprint, error) {
	if id == n.cfg.NodeID {
		return n.keyFingerprints()
	}
	st, err := n.peerStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	if e := st.GetKeyError(); e != "" {
		return nil, errors.New(e)
	}
	return st.GetKeys(), nil
}

// JobKeySet is job's keys by key id, as its tasks get them (tests and
// node-side reads of a job's blobs): the current id's and every older id
// the key file still holds, plus the legacy key for a job older than the
// cluster's key files.
func (n *Node) JobKeySet(job uint64) (checkpoint.KeySet, error) {
	_, keys, legacy, err := n.jobKeys(job)
	if err != nil {
		return nil, err
	}
	set := checkpoint.KeySet{}
	for _, k := range keys {
		set[k.GetId()] = k.GetKey()
	}
	if legacy != nil {
		set[checkpoint.LegacyKeyID] = legacy
	}
	return set, nil
}

// jobKeys is what a claim grant of job carries: the current key id and the
// job's keys, or (a cluster without key configuration) only the legacy
// cluster-wide key.
func (n *Node) jobKeys(job uint64) (current string, keys []*wire.JobKey, legacy []byte, err error) {
	var cluster string
	var checks []*pb.KeyCheck
	n.replica.read(func(m *fsm.Machine) {
		current, checks, cluster, legacy = m.KeyID(), m.KeyChecks(), m.ClusterID(), m.LegacyKey(job)
	})
	if current == "" {
		if legacy == nil {
			return "", nil, nil, errors.New("the cluster has no keys yet (the first leader sets them; retry)")
		}
		return "", nil, legacy, nil
	}
	ring, err := n.cfg.Keys.Keyring()
	if err != nil {
		return "", nil, nil, err
	}
	if err := keyMismatch(ring, current, checks); err != nil {
		return "", nil, nil, fmt.Errorf("node %s: cluster key file %s: %w", n.cfg.NodeID, n.cfg.Keys.Path(), err)
	}
	for _, c := range checks {
		if !ring.Has(c.GetId()) {
			continue // removed from the files: what it sealed no longer verifies
		}
		k, err := ring.JobKey(c.GetId(), cluster, job)
		if err != nil {
			return "", nil, nil, err
		}
		keys = append(keys, &wire.JobKey{Id: c.GetId(), Key: k})
	}
	if legacy != nil {
		keys = append(keys, &wire.JobKey{Id: checkpoint.LegacyKeyID, Key: legacy})
	}
	return current, keys, nil, nil
}

// addJobKeys puts job's keys into a claim grant.
func (n *Node) addJobKeys(g *wire.ClaimResponse, job uint64) error {
	current, keys, legacy, err := n.jobKeys(job)
	if err != nil {
		return err
	}
	g.KeyId, g.JobKeys, g.ClusterKey = current, keys, legacy
	return nil
}
