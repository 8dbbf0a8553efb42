//go:build ignore

// etcdserver is etcd's own server main (etcdmain), built from the
// go.etcd.io/etcd/server/v3 module in the peers' cache.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
