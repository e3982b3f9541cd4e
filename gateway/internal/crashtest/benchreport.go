package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// figure is one measured figure beside its floor. Ratio is the share of
// the floor's speed reached: figure/floor for a rate, floor/figure for a
// time, so 1 means "at the floor" either way.
type figure struct {
	Name       string  `json:"name"`
	Value      float64 `json:"value"`
	Unit       string  `json:"unit"`
	Floor      string  `json:"floor,omitempty"`
	FloorValue float64 `json:"floor_value,omitempty"`
	FloorUnit  string  `json:"floor_unit,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
}

// benchReport is bench.json.
type benchReport struct {
	Version string    `json:"version"`
	Date    time.Time `json:"date"`
	CPUs    int       `json:"cpus"`
	Seed    uint64    `json:"seed"`
	Figures []figure  `json:"figures"`
}

// lowerIsBetter reports whether unit is a time or a size per operation.
func lowerIsBetter(unit string) bool {
	return strings.HasSuffix(unit, "/op") || unit == "s" || unit == "MiB"
}

// withFloor sets f's floor and ratio; a floor of 0 (not measured) sets none.
func (f figure) withFloor(name string, v float64, unit string) figure {
	if v <= 0 || f.Value <= 0 {
		return f
	}
	f.Floor, f.FloorValue, f.FloorUnit = name, v, unit
	if lowerIsBetter(f.Unit) {
		f.Ratio = v / f.Value
	} else {
		f.Ratio = f.Value / v
	}
	return f
}

// goBench is one result line of `go test -bench`: metric unit → value.
type goBench map[string]float64

// parseGoBench reads `go test -bench` output into "pkg Benchmark/sub" →
// metrics (the -N GOMAXPROCS suffix removed; a repeated name keeps the
// last line).
func parseGoBench(r io.Reader) map[string]goBench {
	out := map[string]goBench{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(fs[1]); err != nil {
			continue
		}
		name := fs[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := goBench{}
		for i := 2; i+1 < len(fs); i += 2 {
			if v, err := strconv.ParseFloat(fs[i], 64); err == nil {
				m[fs[i+1]] = v
			}
		}
		out[pkg+" "+name] = m
	}
	return out
}

const modPath = "github.com/stadt-erkelenz/bebpo-gateway/"

// goFigures takes the figures that have a floor from `go test -bench`
// output; benchmarks missing from it are left out.
func goFigures(res map[string]goBench, fl floors) []figure {
	var out []figure
	get := func(pkg, name, unit string) (figure, bool) {
		m, ok := res[modPath+pkg+" "+name]
		if !ok || m[unit] == 0 {
			return figure{}, false
		}
		return figure{Name: pkg + " " + strings.TrimPrefix(name, "Benchmark"), Value: m[unit], Unit: unit}, true
	}
	for _, n := range []string{"BenchmarkSeal/1MiB", "BenchmarkOpen/1MiB"} {
		if f, ok := get("osci/xmlenc/gcmstream", n, "MB/s"); ok {
			out = append(out, f.withFloor("Go stdlib AES-256-GCM seal 1 MiB", fl.goGCM, "MB/s"))
			out = append(out, f.withFloor("openssl speed -evp aes-256-gcm 16 KiB", fl.opensslGCM, "MB/s"))
		}
	}
	for _, n := range []string{"BenchmarkSign/1MB", "BenchmarkVerify/1MB"} {
		if f, ok := get("osci/xmlsec", n, "MB/s"); ok {
			out = append(out, f.withFloor("Go SHA-256 1 MiB", fl.goSHA256, "MB/s"))
		}
		if f, ok := get("osci/xmlsec", n, "B/op"); ok {
			out = append(out, f)
		}
	}
	if f, ok := get("osci/xmlsec", "BenchmarkSign/4KB", "ns/op"); ok {
		out = append(out, f.withFloor("Go RSA-3072 sign", fl.rsaSignNs, "ns/op"))
	}
	if f, ok := get("osci/xmlsec", "BenchmarkVerify/4KB", "ns/op"); ok {
		out = append(out, f.withFloor("Go RSA-3072 verify", fl.rsaVerifyNs, "ns/op"))
	}
	return out
}

// printFigures prints one line per figure: value, floor, ratio.
func printFigures(w io.Writer, figs []figure) {
	for _, f := range figs {
		if f.Floor == "" {
			fmt.Fprintf(w, "bench: %-40s %12s %-6s\n", f.Name, fmtVal(f.Value), f.Unit)
			continue
		}
		fmt.Fprintf(w, "bench: %-40s %12s %-6s floor %12s %-6s (%s): %5.1f%% of the floor\n",
			f.Name, fmtVal(f.Value), f.Unit, fmtVal(f.FloorValue), f.FloorUnit, f.Floor, 100*f.Ratio)
	}
}

func fmtVal(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// writeReport writes bench.json and, beside it with the extension .txt,
// the same figures in the format of `go test -bench` (each figure one
// benchmark, its floor and ratio extra metrics), which benchstat compares.
func writeReport(path string, rep benchReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "goos: %s\ngoarch: %s\npkg: bench\n", runtime.GOOS, runtime.GOARCH)
	for _, f := range rep.Figures {
		name := "Benchmark" + strings.NewReplacer(" ", "/", "(", "", ")", "").Replace(f.Name)
		if f.Floor != "" {
			name += "/vs/" + strings.ReplaceAll(f.Floor, " ", "_")
		}
		fmt.Fprintf(&t, "%s 1 %g %s", name, f.Value, strings.ReplaceAll(f.Unit, " ", "_"))
		if f.Floor != "" {
			fmt.Fprintf(&t, " %g floor-%s %g ratio", f.FloorValue, strings.ReplaceAll(f.FloorUnit, " ", "_"), f.Ratio)
		}
		t.WriteString("\n")
	}
	return os.WriteFile(strings.TrimSuffix(path, ".json")+".txt", []byte(t.String()), 0o644)
}

// runBenchCompare prints two bench.json files side by side: each figure
// of the new run, the old one, the change, and both ratios to the floor.
func runBenchCompare(oldPath, newPath string) int {
	read := func(p string) (benchReport, error) {
		var r benchReport
		b, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		return r, err
	}
	o, err := read(oldPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: benchcmp:", err)
		return 1
	}
	n, err := read(newPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: benchcmp:", err)
		return 1
	}
	key := func(f figure) string { return f.Name + "|" + f.Unit + "|" + f.Floor }
	old := map[string]figure{}
	for _, f := range o.Figures {
		old[key(f)] = f
	}
	fmt.Printf("old: %s %s\nnew: %s %s\n", o.Version, o.Date.Format(time.RFC3339), n.Version, n.Date.Format(time.RFC3339))
	keys := make([]string, 0, len(n.Figures))
	byKey := map[string]figure{}
	for _, f := range n.Figures {
		keys = append(keys, key(f))
		byKey[key(f)] = f
	}
	sort.Stable(sort.StringSlice(keys))
	for _, k := range keys {
		f := byKey[k]
		of, ok := old[k]
		if !ok {
			fmt.Printf("%-40s %-6s %12s  (new)\n", f.Name, f.Unit, fmtVal(f.Value))
			continue
		}
		ch := f.Value / of.Value
		fmt.Printf("%-40s %-6s %12s → %12s  ×%.2f", f.Name, f.Unit, fmtVal(of.Value), fmtVal(f.Value), ch)
		if f.Floor != "" {
			fmt.Printf("  of floor (%s): %.1f%% → %.1f%%", f.Floor, 100*of.Ratio, 100*f.Ratio)
		}
		fmt.Println()
	}
	return 0
}
