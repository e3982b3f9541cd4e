package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the bebpo-gateway binary to package (required)")
	flag.StringVar(&o.version, "version", "", "package version; a git describe output is turned into a Debian version")
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "Debian architecture (Go names: amd64, arm64)")
	flag.StringVar(&o.out, "out", ".", "directory for the .deb")
	flag.StringVar(&o.maintainer, "maintainer", "bebpo-gateway maintainers <bebpo-gateway@maintainers.invalid>", "Maintainer field")
	flag.StringVar(&o.readme, "readme", "", "README to install as /usr/share/doc/bebpo-gateway/README.md")
	mtime := flag.Int64("mtime", sourceDateEpoch(), "time of every file, seconds since 1970 (default SOURCE_DATE_EPOCH, else now)")
	flag.Parse()
	o.mtime = time.Unix(*mtime, 0).UTC()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "packaging: --bin is required")
		os.Exit(2)
	}
	path, err := buildDeb(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(path)
}

func sourceDateEpoch() int64 {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v
		}
	}
	return time.Now().Unix()
}
