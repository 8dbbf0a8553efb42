package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node/backup"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

func newBackupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Save, inspect and verify backups of the cluster's replicated state (restore: kappa server --restore)"}
	cmd.AddCommand(newBackupSaveCmd(), newBackupInspectCmd(), newBackupVerifyCmd())
	return cmd
}

func newBackupSaveCmd() *cobra.Command {
	var f clusterFlags
	var holdGC time.Duration
	cmd := &cobra.Command{
		Use:   "save FILE",
		Short: "Write a consistent copy of the cluster's state, read on the leader, to FILE",
		Long: `Writes a consistent copy of the cluster's replicated state to FILE: the
leader reads it at an applied index after confirming its leadership, so it
holds every write acknowledged before the command. The checkpoints the
state names stay in the checkpoint store; the leader holds garbage
collection for --hold-gc, so a copy of the store made meanwhile holds every
key the backup needs (check with kappa backup verify FILE --store URL).`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if holdGC < 0 {
				return usageError("--hold-gc must not be negative, got %s", holdGC)
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				hdr, state, err := c.Backup(ctx, holdGC)
				if err != nil {
					return err
				}
				b, err := backup.FromWire(hdr, state)
				if err != nil {
					return err
				}
				if err := b.WriteFile(args[0]); err != nil {
					return err
				}
				fmt.Printf("backup written to %s\n%s", args[0], b.Describe())
				if holdGC > 0 {
					fmt.Printf("the leader holds garbage collection until %s: copy the checkpoint store now if you back it up too\n",
						time.Now().Add(holdGC).Format(time.TimeOnly))
				}
				return nil
			})
		},
	}
	cmd.Flags().DurationVar(&holdGC, "hold-gc", 10*time.Minute, "pause the leader's garbage collection of the checkpoint store this long (0: not at all)")
	f.register(cmd)
	return cmd
}

// readBackup reads a backup file and decodes its state, checking its
// sha256 and state hash.
func readBackup(path string) (*backup.Backup, error) {
	b, err := backup.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := b.Machine(); err != nil {
		return nil, err
	}
	return b, nil
}

func newBackupInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "Print a backup's header and check its sha256 and state hash",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			b, err := readBackup(args[0])
			if err != nil {
				return err
			}
			fmt.Print(b.Describe())
			fmt.Printf("%-12s%s\n", "checked", "the state's sha256 matches; it decodes to the state hash above")
			return nil
		},
	}
}

func newBackupVerifyCmd() *cobra.Command {
	var storeURL, passwordFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify FILE --store URL",
		Short: "Check that a checkpoint store holds every key the backup's running jobs need",
		Long: `Checks that the checkpoint store at --store holds every key the running jobs
of the backup need to resume: their program bundles and every key the state
refers to (task checkpoints, start values, results, stored responses,
queued items), and the results of succeeded jobs that are stored by key.
Exits 1 naming each missing key. Also lists the keys a failed job of the
backup would need to be retried (kappa jobs retry) that the store lacks;
those alone do not fail the check.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if storeURL == "" {
				return usageError("verify needs --store URL: the checkpoint store a restore would use")
			}
			storeURL, err := withPasswordFile(storeURL, passwordFile, "--store-password-file")
			if err != nil {
				return usageError("%v", err)
			}
			b, err := backup.ReadFile(args[0])
			if err != nil {
				return err
			}
			m, err := b.Machine()
			if err != nil {
				return err
			}
			store, err := checkpoint.Open(storeURL)
			if err != nil {
				return usageError("%v", err)
			}
			defer store.Close()
			where, _ := checkpoint.Identity(storeURL)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			checked, missing, err := backup.Verify(ctx, store, m)
			if err != nil {
				return err
			}
			var blocking, results, retryOnly int
			for _, r := range missing {
				switch {
				case r.RetryOnly:
					retryOnly++
					fmt.Printf("missing  j%d  %s  (only to retry the failed job)\n", r.Job, r.Key)
				case r.Result:
					results++
					fmt.Printf("missing  j%d  %s  (the succeeded job's result)\n", r.Job, r.Key)
				default:
					blocking++
					fmt.Printf("missing  j%d  %s\n", r.Job, r.Key)
				}
			}
			switch {
			case blocking > 0:
				return fmt.Errorf("%d keys the backup's %d running jobs need are missing from %s: "+
					"restored, those jobs would fail when their tasks resume", blocking, b.RunningJobs, where)
			case results > 0:
				return fmt.Errorf("%d results of succeeded jobs of the backup are missing from %s: restored, kappa jobs result cannot read them",
					results, where)
			}
			fmt.Printf("%s holds every key the backup's %d running jobs need and every stored result (%d keys checked)\n", where, b.RunningJobs, checked)
			if retryOnly > 0 {
				fmt.Printf("%d keys that failed jobs need to be retried are missing: restored, kappa jobs retry refuses those jobs\n", retryOnly)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeURL, "store", os.Getenv("KAPPA_STORE"), "the checkpoint store to check (default $KAPPA_STORE)")
	cmd.Flags().StringVar(&passwordFile, "store-password-file", "", "file (mode 0600) holding the store's password, as kappa server takes it")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}
