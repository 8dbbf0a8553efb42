package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kappa-serverless/kappa/node"
)

// registerLimits adds the size limit flags of `kappa server`, with
// node.DefaultConfig's values (docs/operations.md, "Limits and quotas").
func registerLimits(f *pflag.FlagSet, l *node.Limits) {
	d := node.DefaultConfig().Limits
	*l = d
	f.Var(bytesFlag{&l.RequestBytes}, "max-request-bytes", "largest API message accepted (a submit with its bundle, a task's call)")
	f.Var(bytesFlag{&l.EventBytes}, "max-event-bytes", "largest job event")
	f.Var(bytesFlag{&l.InlineResultBytes}, "max-inline-result-bytes", "largest result JSON kept in the job's record; larger ones go to the checkpoint store")
	f.Var(bytesFlag{&l.ResultBytes}, "max-result-bytes", "largest result JSON of a job")
	f.Var(bytesFlag{&l.InlineValueBytes}, "max-inline-value-bytes", "largest value (queue item, spawn arguments, task result) carried in a call; larger ones go to the checkpoint store")
	f.Var(bytesFlag{&l.BundleBytes}, "max-bundle-bytes", "largest program bundle, unpacked")
	f.IntVar(&l.BundleFiles, "max-bundle-files", d.BundleFiles, "most files in a program bundle")
	f.Var(bytesFlag{&l.EntryBytes}, "max-entry-bytes", "largest Raft log entry (commands are batched up to it)")
}

// bytesFlag is a byte count given as 1048576, 1MiB, 512KiB or 2GiB.
type bytesFlag struct{ p *int }

func (b bytesFlag) Type() string { return "bytes" }

// String prints the count in the largest unit that divides it, as the
// docs write defaults.
func (b bytesFlag) String() string {
	if b.p == nil {
		return "0"
	}
	n := *b.p
	for _, u := range units {
		if n >= u.size && n%u.size == 0 {
			return strconv.Itoa(n/u.size) + u.name
		}
	}
	return strconv.Itoa(n)
}

func (b bytesFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b.p = n
	return nil
}

var units = []struct {
	name string
	size int
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

func parseBytes(s string) (int, error) {
	num, mult := strings.TrimSpace(s), 1
	for _, u := range units {
		if strings.HasSuffix(num, u.name) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.name)), u.size
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive byte count (e.g. 1048576, 512KiB, 16MiB, 1GiB)", s)
	}
	return n * mult, nil
}
