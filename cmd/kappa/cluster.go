package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// clusterFlags are shared by every command that talks to a running cluster.
type clusterFlags struct {
	addrs   string
	timeout time.Duration
	conn    connFlags
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addrs, "cluster", os.Getenv("KAPPA_CLUSTER"), "cluster node API addresses HOST:PORT[,HOST:PORT…] (default $KAPPA_CLUSTER)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "give up when no node can serve the request for this long")
	f.conn.register(cmd.Flags())
}

// do runs an operator command against the cluster within --timeout.
func (f *clusterFlags) do(cmd func(ctx context.Context, c *kappaclient.Client) error) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return cmd(ctx, c)
}

// client is a client of the cluster the flags name.
func (f *clusterFlags) client() (*kappaclient.Client, error) {
	if f.addrs == "" {
		return nil, usageError("no cluster address: pass --cluster HOST:PORT[,HOST:PORT…] or set KAPPA_CLUSTER")
	}
	return f.conn.client(strings.Split(f.addrs, ","), f.timeout)
}

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect and change the coordinator cluster's membership and leadership"}
	cmd.AddCommand(newMembersCmd(), newJoinCmd(), newRemoveCmd(), newTransferCmd(), newDrainCmd(), newUndrainCmd())
	return cmd
}

func newMembersCmd() *cobra.Command {
	var f clusterFlags
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the members: id, address, role, voter, last contact, applied index, version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				m, err := c.Members(ctx)
				if err != nil {
					return err
				}
				var rows []memberRow
				for _, mem := range m.GetMembers() {
					sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					st, err := c.Status(sctx, mem.GetApiAddr())
					cancel()
					rows = append(rows, newMemberRow(mem, st, err))
				}
				return o.print(rows, func() error { return tabular(func(w io.Writer) { membersTable(w, rows) }) })
			})
		},
	}
	f.register(cmd)
	o.register(cmd)
	return cmd
}

// memberRow is one member as `cluster members` shows it: the leader's
// member table and the member's own status (-o json field names are
// documented in docs/operations.md).
type memberRow struct {
	NodeID   string `json:"node_id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	// Role is leader, follower or candidate as the member says, or
	// unreachable.
	Role  string `json:"role"`
	Voter bool   `json:"voter"`
	// LastContactMs: since the member last heard from the leader (0 on the
	// leader, -1 never; absent when unreachable). AppliedIndex likewise.
	LastContactMs *int64  `json:"last_contact_ms,omitempty"`
	AppliedIndex  *uint64 `json:"applied_index,omitempty"`
	// Version is its build (release and command version), when it answered.
	Version string `json:"version,omitempty"`
	// Drained: the member was drained (kappa cluster drain) and takes no
	// leadership.
	Drained bool `json:"drained"`
}

func newMemberRow(mem *wire.Member, st *wire.ClusterStatusResponse, err error) memberRow {
	r := memberRow{NodeID: mem.GetNodeId(), RaftAddr: mem.GetRaftAddr(), APIAddr: mem.GetApiAddr(), Role: "unreachable", Voter: mem.GetVoter(),
		Drained: mem.GetDrained()}
	if err == nil {
		contact, applied := st.GetLastContactMs(), st.GetRaftAppliedIndex()
		r.Role, r.LastContactMs, r.AppliedIndex = strings.ToLower(st.GetRaftState()), &contact, &applied
		r.Version = buildVersion(st.GetVersion())
	}
	if mem.GetLeader() {
		r.Role = "leader"
	}
	return r
}

func membersTable(w io.Writer, rows []memberRow) {
	fmt.Fprintln(w, "ID\tRAFT ADDRESS\tAPI ADDRESS\tROLE\tVOTER\tLAST CONTACT\tAPPLIED INDEX\tVERSION")
	for _, r := range rows {
		contact, applied, version := "-", "-", "unreachable"
		if r.LastContactMs != nil {
			switch ms := *r.LastContactMs; {
			case ms < 0:
				contact = "never"
			case ms > 0:
				contact = (time.Duration(ms) * time.Millisecond).String() + " ago"
			}
			applied, version = fmt.Sprint(*r.AppliedIndex), r.Version
		}
		role := r.Role
		if r.Drained {
			role += " (drained)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\n", r.NodeID, r.RaftAddr, r.APIAddr, role, r.Voter, contact, applied, version)
	}
}

func newJoinCmd() *cobra.Command {
	var f clusterFlags
	var raftAddr, apiAddr string
	cmd := &cobra.Command{
		Use:   "join NODE_ID --raft-addr HOST:PORT --api-addr HOST:PORT",
		Short: "Add a running node (started without --bootstrap) to the cluster as a voter",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if raftAddr == "" || apiAddr == "" {
				return usageError("join needs --raft-addr and --api-addr of the new node")
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				if err := c.Join(ctx, args[0], raftAddr, apiAddr); err != nil {
					return err
				}
				fmt.Printf("node %s joined\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&raftAddr, "raft-addr", "", "the new node's Raft address")
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "the new node's API address")
	f.register(cmd)
	return cmd
}

func newRemoveCmd() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "remove NODE_ID",
		Short: "Remove a node from the cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				if err := c.Remove(ctx, args[0]); err != nil {
					return err
				}
				fmt.Printf("node %s removed\n", args[0])
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newTransferCmd() *cobra.Command {
	var f clusterFlags
	var to string
	cmd := &cobra.Command{
		Use:   "transfer-leader [--to NODE_ID]",
		Short: "Hand leadership to another node (running tasks keep running)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				r, err := c.TransferLeader(ctx, to)
				switch {
				case err != nil:
					return err
				case r.GetLeaderId() == "":
					fmt.Println("leadership was handed over; no new leader heard of yet (see kappa status)")
				case r.GetToDrained():
					fmt.Printf("leader is now %s (%s is drained and handed leadership on; kappa cluster undrain %s lets it lead)\n",
						r.GetLeaderId(), to, to)
				default:
					fmt.Printf("leader is now %s\n", r.GetLeaderId())
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the node to hand leadership to (default: the most up-to-date follower)")
	f.register(cmd)
	return cmd
}

func newStatusCmd() *cobra.Command {
	var f clusterFlags
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each given node's view of the cluster: role, leader, term, indexes, state hash, versions",
		Long: `Asks each node given with --cluster for its own view of the cluster.
Exit codes: 0 every node answered and knows a leader; 3 some node is
unreachable; 4 no reachable node knows a leader (an election in progress,
or no quorum); 5 no node could be reached.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				var rows []nodeStatus
				for _, addr := range c.Addrs() {
					sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					st, err := c.Status(sctx, addr)
					cancel()
					rows = append(rows, newNodeStatus(addr, st, err))
				}
				if err := o.print(rows, func() error { return printNodeStatus(rows) }); err != nil {
					return err
				}
				return statusVerdict(rows)
			})
		},
	}
	f.register(cmd)
	o.register(cmd)
	return cmd
}

// statusTable prints a header and one row per given node, made from the
// node's own status; a node that does not answer is a row "unreachable".
func statusTable(ctx context.Context, c *kappaclient.Client, header string, row func(addr string, st *wire.ClusterStatusResponse) string) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, addr := range c.Addrs() {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := c.Status(sctx, addr)
		cancel()
		if err != nil {
			fmt.Fprintf(w, "?\t%s\tunreachable%s\n", addr, strings.Repeat("\t", strings.Count(header, "\t")-2))
			continue
		}
		fmt.Fprintln(w, row(addr, st))
	}
	return w.Flush()
}

// nodeStatus is one row of `kappa status` (its -o json field names are
// documented in docs/operations.md).
type nodeStatus struct {
	Address      string `json:"address"`
	Reachable    bool   `json:"reachable"`
	Error        string `json:"error,omitempty"`
	NodeID       string `json:"node_id,omitempty"`
	Role         string `json:"role,omitempty"`
	LeaderID     string `json:"leader_id,omitempty"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Jobs         uint64 `json:"jobs"`
	Tasks        uint64 `json:"tasks"`
	StateHash    string `json:"state_hash,omitempty"`
	// Version is the node's build (release and commit);
	// ClusterCommandVersion the command version every voter supports.
	Version               string `json:"version,omitempty"`
	ClusterCommandVersion uint32 `json:"cluster_command_version,omitempty"`
	TLS                   bool   `json:"tls"`
	// DiskFull: writes to the node's data dir fail for lack of space;
	// DiskMessage says which dir, since when and how many failed.
	DiskFull    bool   `json:"disk_full,omitempty"`
	DiskMessage string `json:"disk_message,omitempty"`
	// LastLogIndex is the last entry in the node's Raft log, applied or
	// not. Note says when the node's numbers are not the cluster's (no
	// leader, or far behind); CountsUnsure: its jobs and tasks may miss
	// entries it holds but has not applied (the table shows "?").
	LastLogIndex uint64 `json:"last_log_index"`
	Note         string `json:"note,omitempty"`
	CountsUnsure bool   `json:"counts_unsure,omitempty"`
	// Store is the node's checkpoint store (without secrets);
	// PerNodeStore: the default directory inside its own data dir.
	Store        string `json:"store,omitempty"`
	PerNodeStore bool   `json:"per_node_store,omitempty"`
}

func newNodeStatus(addr string, st *wire.ClusterStatusResponse, err error) nodeStatus {
	if err != nil {
		return nodeStatus{Address: addr, Error: message(err)}
	}
	note, unsure := statusNote(st)
	return nodeStatus{Address: addr, Reachable: true, NodeID: st.GetNodeId(), Role: strings.ToLower(st.GetRaftState()),
		LeaderID: st.GetLeaderId(), Term: st.GetTerm(), CommitIndex: st.GetCommitIndex(), AppliedIndex: st.GetAppliedIndex(),
		Jobs: st.GetJobs(), Tasks: st.GetTasks(), StateHash: st.GetStateHash(), TLS: !st.GetInsecure(),
		Version: buildVersion(st.GetVersion()), ClusterCommandVersion: max(st.GetClusterCommandVersion(), 1),
		DiskFull: st.GetDiskFull(), DiskMessage: st.GetDiskMessage(), LastLogIndex: st.GetLastLogIndex(),
		Note: note, CountsUnsure: unsure, Store: st.GetStore(), PerNodeStore: st.GetPerNodeStore()}
}

// printNodeStatus prints the table, then below it what a node in trouble
// says (a full disk; no leader or far behind, so its numbers are not the
// cluster's).
func printNodeStatus(rows []nodeStatus) error {
	if err := tabular(func(w io.Writer) { nodeStatusTable(w, rows) }); err != nil {
		return err
	}
	for _, r := range rows {
		if r.DiskFull {
			fmt.Println(r.NodeID + ": " + r.DiskMessage)
		}
		if r.Note != "" {
			fmt.Println(r.Note)
		}
	}
	return nil
}

func nodeStatusTable(w io.Writer, rows []nodeStatus) {
	fmt.Fprintln(w, "NODE\tADDRESS\tROLE\tLEADER\tTERM\tCOMMIT\tAPPLIED\tJOBS\tTASKS\tSTATE HASH\tVERSION\tCLUSTER CMD\tSECURITY")
	for _, r := range rows {
		if !r.Reachable {
			fmt.Fprintf(w, "?\t%s\tunreachable\t\t\t\t\t\t\t\t\t\t\n", r.Address)
			continue
		}
		security := "tls"
		if !r.TLS {
			security = "INSECURE (plaintext, no authentication)"
		}
		role := r.Role
		if r.DiskFull {
			role += " (disk full)"
		}
		jobs, tasks := fmt.Sprint(r.Jobs), fmt.Sprint(r.Tasks)
		if r.CountsUnsure {
			jobs, tasks = "?", "?"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%.12s\t%s\t%d\t%s\n", r.NodeID, r.Address, role,
			r.LeaderID, r.Term, r.CommitIndex, r.AppliedIndex, jobs, tasks, r.StateHash, r.Version, r.ClusterCommandVersion, security)
	}
}

// statusVerdict turns the rows into the exit code: the worst of no node
// reachable, no leader, some node unreachable.
func statusVerdict(rows []nodeStatus) error {
	var down []string
	leader := false
	for _, r := range rows {
		if !r.Reachable {
			down = append(down, r.Address)
		} else if r.LeaderID != "" {
			leader = true
		}
	}
	switch {
	case len(down) == len(rows):
		return &exitError{code: exitUnreachable, msg: "no node reachable: " + strings.Join(down, ", ")}
	case !leader:
		return &exitError{code: exitNoLeader, msg: "no leader: no reachable node knows one (an election in progress, or no quorum)"}
	case len(down) > 0:
		return &exitError{code: exitNodeUnreachable, msg: "unreachable: " + strings.Join(down, ", ")}
	}
	return nil
}

// catchingUp is how far a node's applied index may trail its commit index
// before status says it is catching up.
const catchingUp = 1000

// statusNote says when a node's numbers are not the cluster's: it knows no
// leader (so it cannot know what was committed without it), or it is far
// behind what it knows is committed. unsure: its job and task counts may
// be missing entries it holds but has not applied.
func statusNote(st *wire.ClusterStatusResponse) (note string, unsure bool) {
	applied, last, commit := st.GetRaftAppliedIndex(), st.GetLastLogIndex(), st.GetCommitIndex()
	switch {
	case st.GetLeaderId() == "":
		return fmt.Sprintf("%s: no leader; this node has applied %d entries (its log holds up to index %d); it cannot tell whether the cluster has more. "+
			"A majority of the voters must be up to elect a leader; if they are lost, see docs/operations.md, \"Lost quorum\"",
			st.GetNodeId(), applied, last), applied < last
	case commit > applied+catchingUp:
		return fmt.Sprintf("%s: catching up: applied %d of %d committed entries; its jobs and tasks are not current yet", st.GetNodeId(), applied, commit), true
	}
	return "", false
}
