// Command bebpo-gateway is the beBPo gateway daemon and its operator CLI.
// Everything lives in package gateway; this file only hands over.
package main

import (
	"os"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
)

func main() {
	os.Exit(gateway.Main(os.Args[1:]))
}
