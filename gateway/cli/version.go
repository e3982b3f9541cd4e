package cli

import (
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
)

func runVersion(env *Env, args []string) error {
	fs := newFlagSet(env, "version", "Print the version of bebpo-gateway and the Go toolchain that built it.")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, version.String())
	return nil
}
