package cli

import (
	"flag"
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
)

func runVersion(env *Env, fs *flag.FlagSet, args []string) error {
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, version.String())
	return nil
}
