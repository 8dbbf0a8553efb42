package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kappa-serverless/kappa/checkpoint"
)

// secretOptions are the server's keys and credentials: the cluster key
// file, and the checkpoint store's credentials, the nodes' own and the
// workers' (a worker is user code: it gets a credential of its own, never
// the nodes'). Passwords come from files (or the environment), so no
// command line shows them.
type secretOptions struct {
	keyFile            string
	store              string
	passwordFile       string
	workerStore        string
	workerPasswordFile string
}

func (o *secretOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.keyFile, "cluster-key-file", "", "the cluster's key file, the same on every node, mode 0600 (required; make one with `kappa keys generate FILE`)")
	f.StringVar(&o.store, "store", "", "checkpoint store URL shared by the whole cluster (default file://DATA_DIR/store: this node's own, for a one-node cluster only); put a password in --store-password-file, not here")
	f.StringVar(&o.passwordFile, "store-password-file", "", "file (mode 0600) holding the nodes' store password")
	f.StringVar(&o.workerStore, "worker-store-url", "", "store URL handed to workers, with their own user, e.g. redis://kappa-worker@HOST:6379/0 (default: --store, when it has no password)")
	f.StringVar(&o.workerPasswordFile, "worker-store-password-file", "", "file (mode 0600) holding the workers' store password")
}

// secretSettings are the settings whose value may carry a password: a
// config file holding one must be private, and the environment variable
// is dropped once read so child processes (workers) never inherit it.
var secretSettings = []string{"store", "worker-store-url"}

// holdsSecret says whether a setting's value carries a password.
func holdsSecret(name, value string) bool {
	for _, s := range secretSettings {
		if s == name {
			return checkpoint.HasPassword(value)
		}
	}
	return false
}

// dropSecretEnvironment removes the environment variables of secret
// settings from this process, so the workers it starts do not inherit them.
func dropSecretEnvironment() {
	for _, s := range secretSettings {
		os.Unsetenv("KAPPA_" + strings.ToUpper(strings.ReplaceAll(s, "-", "_")))
	}
}

// storeURLs are the nodes' store URL and the workers', each with its own
// password (if any) from its file.
func (o secretOptions) storeURLs(flags *pflag.FlagSet, dataDir string, log *slog.Logger) (nodeURL, workerURL string, err error) {
	nodeURL = o.store
	if nodeURL == "" {
		nodeURL = "file://" + filepath.Join(absPath(dataDir), "store")
	}
	for _, name := range secretSettings {
		if f := flags.Lookup(name); f != nil && f.Changed && checkpoint.HasPassword(f.Value.String()) {
			log.Warn("a store password is on the command line, where ps shows it to every user of this machine; use --store-password-file or --worker-store-password-file",
				"flag", "--"+name)
		}
	}
	nodeURL, err = withPasswordFile(nodeURL, o.passwordFile, "--store-password-file")
	if err != nil {
		return "", "", err
	}
	workerURL = o.workerStore
	if workerURL == "" {
		if o.workerPasswordFile != "" {
			return "", "", fmt.Errorf("--worker-store-password-file needs --worker-store-url (the workers' user at the store)")
		}
		if checkpoint.HasPassword(nodeURL) {
			return "", "", fmt.Errorf("the store needs a password, and workers (user code) must not get the nodes' credential: give them their own with --worker-store-url and --worker-store-password-file (docs/security.md, \"Secrets\")")
		}
		return nodeURL, nodeURL, nil
	}
	workerURL, err = withPasswordFile(workerURL, o.workerPasswordFile, "--worker-store-password-file")
	if err != nil {
		return "", "", err
	}
	if checkpoint.HasPassword(nodeURL) && sameCredential(nodeURL, workerURL) {
		return "", "", fmt.Errorf("--worker-store-url gives workers the nodes' own store credential; give them a user of their own (docs/security.md, \"Secrets\")")
	}
	return nodeURL, workerURL, nil
}

func withPasswordFile(raw, file, flag string) (string, error) {
	if file == "" {
		return raw, nil
	}
	pw, err := checkpoint.ReadPasswordFile(file, flag)
	if err != nil {
		return "", err
	}
	return checkpoint.WithPassword(raw, pw)
}

// sameCredential: two store URLs with the same user and password.
func sameCredential(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil || ua.User == nil || ub.User == nil {
		return false
	}
	pa, _ := ua.User.Password()
	pb, _ := ub.User.Password()
	return ua.User.Username() == ub.User.Username() && pa == pb
}
