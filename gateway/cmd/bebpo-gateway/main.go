// Command bebpo-gateway is the beBPo gateway daemon and its operator CLI.
// The commands live in package gateway/cli; this file only hands over.
package main

import (
	"os"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
