package node

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
)

// SetRaftLogLevel changes the level of hashicorp/raft's own log lines at
// run time (a SIGHUP reload); the node's other lines follow its Logger.
func (n *Node) SetRaftLogLevel(level string) error {
	l := hclog.LevelFromString(level)
	if l == hclog.NoLevel {
		return fmt.Errorf("unknown log level %q (debug, info, warn or error)", level)
	}
	n.raftLog.SetLevel(l)
	return nil
}
