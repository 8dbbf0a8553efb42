package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/kappa-serverless/kappa/node"
)

// exitTooOld is the exit code of a server that met a replicated log entry
// or snapshot newer than its build knows. Restarting the same binary
// cannot help, so the systemd unit does not (RestartPreventExitStatus).
const exitTooOld = 78

// serverSignals are the signals a server acts on. They are caught from
// the start, so a SIGHUP that arrives while the node starts does not kill
// it (Go's default for SIGHUP is to exit).
type serverSignals chan os.Signal

func catchServerSignals() serverSignals {
	s := make(serverSignals, 4)
	signal.Notify(s, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	return s
}

// run serves until SIGTERM or SIGINT (a planned stop: a leader hands
// leadership over first, within --shutdown-timeout) or until the node
// stops for good; SIGHUP reloads what can change at run time.
func (s serverSignals) run(n *node.Node, id string, logger *slog.Logger, r *reloader) error {
	defer signal.Stop(s)
	for {
		select {
		case sig := <-s:
			if sig == syscall.SIGHUP {
				r.reload(n)
				continue
			}
			logger.Info("shutting down", "signal", sig.String())
			err := n.Shutdown()
			logger.Info("stopped")
			return err
		case <-n.DrillExit():
			logger.Warn("a drill told this node to exit; its supervisor starts it again", "exit_code", node.DrillExitCode)
			n.Close()
			return &exitError{code: node.DrillExitCode, msg: fmt.Sprintf("node %s exited for a drill", id)}
		case err := <-n.Fatal():
			n.Close()
			return &exitError{code: exitTooOld, msg: fmt.Sprintf("node %s stopped: %v", id, err)}
		}
	}
}

// reloader re-reads the --config file on SIGHUP. Settings that can change
// while the node runs take effect at once; for the others it logs that
// the file differs and that a restart applies them. The command line and
// the environment stay what they were at start and still win over the file.
type reloader struct {
	file    string
	flags   *pflag.FlagSet  // the running settings
	cmdLine map[string]bool // flags given on the command line
	logger  *slog.Logger
	level   *slog.LevelVar
	tls     bool
}

// newReloader notes which flags the command line set, before the config
// file and the environment fill the others in.
func newReloader(flags *pflag.FlagSet, file string) *reloader {
	r := &reloader{file: file, flags: flags, cmdLine: map[string]bool{}}
	flags.Visit(func(f *pflag.Flag) { r.cmdLine[f.Name] = true })
	return r
}

// live are the settings a reload applies to the running node.
func (r *reloader) live(n *node.Node) map[string]func(string) error {
	return map[string]func(string) error{
		"log-level": func(v string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("log-level %q: want debug, info, warn or error", v)
			}
			if err := n.SetRaftLogLevel(v); err != nil {
				return err
			}
			r.level.Set(l)
			return nil
		},
	}
}

func (r *reloader) reload(n *node.Node) {
	log := r.logger.With("signal", "SIGHUP")
	if r.tls {
		log.Info("TLS certificate files are not re-read on SIGHUP")
	}
	if r.file == "" {
		log.Info("nothing to reload: no --config file (flags and the environment are fixed while the node runs)")
		return
	}
	fresh := newServerCmd().Flags()
	var err error
	r.flags.VisitAll(func(f *pflag.Flag) {
		if err == nil && r.cmdLine[f.Name] {
			err = setFlag(fresh, f)
		}
	})
	if err == nil {
		err = applyConfig(fresh, r.file)
	}
	if err != nil {
		log.Error("reload failed; the running settings stay", "config", r.file, "err", err)
		return
	}
	live, changed := r.live(n), 0
	fresh.VisitAll(func(f *pflag.Flag) {
		cur := r.flags.Lookup(f.Name)
		if cur == nil || cur.Value.String() == f.Value.String() {
			return
		}
		changed++
		from, to := shown(f.Name, cur.Value.String()), shown(f.Name, f.Value.String())
		apply, ok := live[f.Name]
		if !ok {
			log.Warn("setting changed in the config file; it takes effect at the next restart", "setting", f.Name, "running", from, "file", to)
			return
		}
		if err := apply(f.Value.String()); err != nil {
			log.Error("setting not reloaded", "setting", f.Name, "err", err)
			return
		}
		_ = setFlag(r.flags, f)
		log.Info("setting reloaded", "setting", f.Name, "from", from, "to", to)
	})
	if changed == 0 {
		log.Info("configuration reloaded: nothing changed", "config", r.file)
	}
}

// setFlag sets dst's flag of src's name to src's value (lists as lists).
func setFlag(dst *pflag.FlagSet, src *pflag.Flag) error {
	f := dst.Lookup(src.Name)
	if f == nil {
		return fmt.Errorf("no setting %s", src.Name)
	}
	if sv, ok := src.Value.(pflag.SliceValue); ok {
		if dv, ok := f.Value.(pflag.SliceValue); ok {
			f.Changed = true
			return dv.Replace(sv.GetSlice())
		}
	}
	return dst.Set(src.Name, src.Value.String())
}

// shown is a setting's value as a log line may show it: no secrets, URLs
// without their passwords.
func shown(name, value string) string {
	for _, secret := range []string{"password", "token", "secret", "key"} {
		if strings.Contains(name, secret) {
			return "(not shown)"
		}
	}
	if u, err := url.Parse(value); err == nil && u.User != nil {
		return u.Redacted()
	}
	return value
}
