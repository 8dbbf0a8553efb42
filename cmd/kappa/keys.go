package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// `kappa keys`: the cluster key files every node reads
// (--cluster-key-file), and rotation. Nothing here prints a key: only key
// ids and their public fingerprints.
func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Make and rotate the cluster keys that sign every checkpoint and value"}
	cmd.AddCommand(newKeysGenerateCmd(), newKeysAddCmd(), newKeysRemoveCmd(), newKeysListCmd(), newKeysStatusCmd(), newKeysRotateCmd())
	return cmd
}

func newKeysGenerateCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "generate FILE [--id k1]",
		Short: "Write a new cluster key file (mode 0600) holding one fresh key",
		Long: `Writes a new cluster key file holding one fresh random key. Copy the same
file to every node of the cluster (keep it mode 0600) and start each with
--cluster-key-file FILE. An existing file is never overwritten.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			ring, err := checkpoint.NewKeyring(id)
			if err != nil {
				return usageError("%v", err)
			}
			if err := checkpoint.WriteKeyring(args[0], ring, false); err != nil {
				return usageError("%v", err)
			}
			fmt.Printf("wrote %s: key id %s (fingerprint %.16s…); copy it to every node, mode 0600\n", args[0], id, ring.Fingerprint(id))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "k1", "the key's id")
	return cmd
}

// editKeyFile loads a key file, changes its keyring and writes it back.
func editKeyFile(path string, edit func(*checkpoint.Keyring) error) (*checkpoint.Keyring, error) {
	ring, err := checkpoint.LoadKeyring(path)
	if err != nil {
		return nil, err
	}
	if err := edit(ring); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ring, checkpoint.WriteKeyring(path, ring, true)
}

func newKeysAddCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "add FILE --id KID",
		Short: "Add a fresh key to a key file (the first step of a rotation)",
		Long: `Adds a fresh random key under a new key id to a cluster key file. Then copy
the file to every node (each re-reads it within seconds, no restart) and
run kappa keys rotate --to KID.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if id == "" {
				return usageError("kappa keys add needs --id KID, a key id the file does not hold yet")
			}
			ring, err := editKeyFile(args[0], func(r *checkpoint.Keyring) error { return r.Generate(id) })
			if err != nil {
				return usageError("%v", err)
			}
			fmt.Printf("added key id %s (fingerprint %.16s…) to %s; it holds %s\n", id, ring.Fingerprint(id), args[0], strings.Join(ring.IDs(), ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the new key's id")
	return cmd
}

func newKeysRemoveCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "remove FILE --id KID",
		Short: "Remove an old key from a key file (blobs it signed stop verifying)",
		Long: `Removes a key id from a cluster key file. Do it on every node's file, and
only for a key id that is no longer current and whose blobs no running job
still needs: a blob signed with a removed key id fails to verify, naming
the key id.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if id == "" {
				return usageError("kappa keys remove needs --id KID")
			}
			ring, err := editKeyFile(args[0], func(r *checkpoint.Keyring) error { return r.Remove(id) })
			if err != nil {
				return usageError("%v", err)
			}
			fmt.Printf("removed key id %s from %s; it holds %s\n", id, args[0], strings.Join(ring.IDs(), ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the key id to remove")
	return cmd
}

func newKeysListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list FILE",
		Short: "List a key file's key ids and fingerprints (never the keys)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			ring, err := checkpoint.LoadKeyring(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			for _, id := range ring.IDs() {
				fmt.Printf("%s\t%s\n", id, ring.Fingerprint(id))
			}
			return nil
		},
	}
}

func newKeysStatusCmd() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's current key id and the key ids each given node's file holds",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				return statusTable(ctx, c, "NODE\tADDRESS\tCURRENT\tKEY FILE HOLDS", func(addr string, st *wire.ClusterStatusResponse) string {
					held := st.GetKeyError()
					if held == "" {
						var ids []string
						for _, k := range st.GetKeys() {
							ids = append(ids, fmt.Sprintf("%s (%.12s…)", k.GetId(), k.GetFingerprint()))
						}
						held = strings.Join(ids, ", ")
					}
					current := st.GetKeyId()
					if current == "" {
						current = "legacy cluster key"
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s", st.GetNodeId(), addr, current, held)
				})
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newKeysRotateCmd() *cobra.Command {
	var f clusterFlags
	var to string
	cmd := &cobra.Command{
		Use:   "rotate --to KID",
		Short: "Make a key id current: new blobs are signed with it, older ids keep verifying",
		Long: `Makes KID the cluster's current key id. The leader first asks every voter
whether its key file holds the same key under KID and refuses, naming the
node, if one does not (add it with kappa keys add and copy the file first).
Blobs signed with older key ids keep verifying while those ids stay in the
key files.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if to == "" {
				return usageError("kappa keys rotate needs --to KID")
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				r, err := c.RotateKey(ctx, to)
				if err != nil {
					return err
				}
				if r.GetPreviousId() == r.GetCurrentId() {
					fmt.Printf("key id %s is current already\n", to)
					return nil
				}
				fmt.Printf("current key id is now %s (was %s); checked voters: %s\n", r.GetCurrentId(), r.GetPreviousId(), strings.Join(r.GetChecked(), ", "))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the key id to make current (every voter's key file must hold it)")
	f.register(cmd)
	return cmd
}
