// Package version holds the gateway's version, set at build time with
// -ldflags "-X github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version.Version=...".
// It cannot fail; an unset version reads "dev".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release of this build.
var Version = "dev"

// String describes the build: version, Go toolchain, platform and, when
// the binary was built from a checkout, the VCS revision.
func String() string {
	s := fmt.Sprintf("bebpo-gateway %s (%s, %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && kv.Value != "" {
				s += " " + kv.Value
			}
		}
	}
	return s
}
