// etcd's server module carries replace directives, so `go install` refuses it;
// this wrapper main builds the same entry point from the published module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
