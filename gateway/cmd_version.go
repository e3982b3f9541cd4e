package gateway

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X .../gateway.Version=...".
var Version = "dev"

func init() {
	register(&Command{Name: "version", Summary: "print the version and build information", Run: runVersion})
}

func runVersion(env *Env, args []string) int {
	fs := NewFlagSet(env, "version", "Print the version of bebpo-gateway and the Go toolchain that built it.")
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Fprintf(env.Stdout, "bebpo-gateway %s (%s, %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if rev != "" {
		fmt.Fprintf(env.Stdout, " %s", rev)
	}
	fmt.Fprintln(env.Stdout)
	return ExitOK
}
