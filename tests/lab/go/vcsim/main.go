// A trimmed vcsim: govmomi's simulator with the default vCenter inventory, the
// vAPI REST endpoints, a fixed listen address, TLS and required credentials.
// Since govmomi v0.47 `go install .../vcsim` no longer works, so we own the main.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

var version = "unknown" // set with -ldflags -X main.version=...

func main() {
	listen := flag.String("l", "127.0.0.1:8989", "listen address")
	user := flag.String("username", "", "login user name (required)")
	pass := flag.String("password", "", "login password (required)")
	cert := flag.String("tlscert", "", "TLS certificate file (PEM)")
	key := flag.String("tlskey", "", "TLS key file (PEM)")
	flag.Parse()
	if flag.Arg(0) == "version" {
		fmt.Println(version)
		return
	}
	if *user == "" || *pass == "" || *cert == "" || *key == "" {
		log.Fatal("-username, -password, -tlscert and -tlskey are required")
	}

	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatal(err)
	}
	// Hosts report the management address clients are redirected to.
	esx.HostSystem.Summary.ManagementServerIp = host
	if n, err := strconv.Atoi(port); err == nil && n > 0 {
		esx.HostSystem.Summary.Config.Port = int32(n)
	}

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		log.Fatal(err)
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}

	server := model.Service.NewServer()
	log.Printf("vcsim %s serving %s", version, server.URL.Redacted())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	server.Close()
	model.Remove()
}
