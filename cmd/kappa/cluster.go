package main

import (
	"context"
	"fmt"
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
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the members: id, address, role, voter, last contact, applied index, version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				m, err := c.Members(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tRAFT ADDRESS\tAPI ADDRESS\tROLE\tVOTER\tLAST CONTACT\tAPPLIED INDEX\tVERSION")
				for _, mem := range m.GetMembers() {
					role, contact, applied, version := "unreachable", "-", "-", "unreachable"
					sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					st, err := c.Status(sctx, mem.GetApiAddr())
					cancel()
					if err == nil {
						role = strings.ToLower(st.GetRaftState())
						applied = fmt.Sprint(st.GetRaftAppliedIndex())
						version = buildVersion(st.GetVersion())
						switch ms := st.GetLastContactMs(); {
						case ms == 0:
							contact = "-"
						case ms < 0:
							contact = "never"
						default:
							contact = (time.Duration(ms) * time.Millisecond).String() + " ago"
						}
					}
					if mem.GetLeader() {
						role = "leader"
					}
					if mem.GetDrained() {
						role += " (drained)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\n", mem.GetNodeId(), mem.GetRaftAddr(), mem.GetApiAddr(), role, mem.GetVoter(), contact, applied, version)
				}
				return w.Flush()
			})
		},
	}
	f.register(cmd)
	return cmd
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
				leader, err := c.TransferLeader(ctx, to)
				if err != nil {
					return err
				}
				fmt.Printf("leader is now %s\n", leader)
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
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each given node's view of the cluster: role, leader, term, indexes, state hash, versions",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NODE\tADDRESS\tROLE\tLEADER\tTERM\tCOMMIT\tAPPLIED\tJOBS\tTASKS\tSTATE HASH\tVERSION\tCLUSTER CMD\tSECURITY")
				var notes []string
				for _, addr := range c.Addrs() {
					sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					st, err := c.Status(sctx, addr)
					cancel()
					if err != nil {
						fmt.Fprintf(w, "?\t%s\tunreachable\t\t\t\t\t\t\t\t\t\t\n", addr)
						continue
					}
					security := "tls"
					if st.GetInsecure() {
						security = "INSECURE (plaintext, no authentication)"
					}
					jobs, tasks := fmt.Sprint(st.GetJobs()), fmt.Sprint(st.GetTasks())
					note, unsure := statusNote(st)
					if note != "" {
						notes = append(notes, note)
					}
					if unsure {
						jobs, tasks = "?", "?"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%.12s\t%s\t%d\t%s\n", st.GetNodeId(), addr, strings.ToLower(st.GetRaftState()),
						st.GetLeaderId(), st.GetTerm(), st.GetCommitIndex(), st.GetAppliedIndex(), jobs, tasks, st.GetStateHash(),
						buildVersion(st.GetVersion()), max(st.GetClusterCommandVersion(), 1), security)
				}
				if err := w.Flush(); err != nil {
					return err
				}
				for _, n := range notes {
					fmt.Println(n)
				}
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
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
