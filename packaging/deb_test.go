package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

var testMTime = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

// The gateway is built and packaged once for all tests (in shared), which
// only read the package.
var (
	shared    string
	buildOnce sync.Once
	sharedDeb string
	sharedBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != "" {
		os.RemoveAll(shared)
	}
	os.Exit(code)
}

// buildTestDeb builds the gateway and packages it.
func buildTestDeb(t *testing.T) (deb, bin string) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed: the package cannot be inspected")
	}
	buildOnce.Do(func() {
		if shared, buildErr = os.MkdirTemp("", "bebpo-deb-test-"); buildErr != nil {
			return
		}
		sharedBin = filepath.Join(shared, "bebpo-gateway")
		build := exec.Command("go", "build", "-trimpath", "-o", sharedBin, "github.com/stadt-erkelenz/bebpo-gateway/gateway/cmd/bebpo-gateway")
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		sharedDeb, buildErr = buildDeb(options{bin: sharedBin, version: "v1.4.0-3-gabc1234", arch: runtime.GOARCH, out: filepath.Join(shared, "out"),
			maintainer: "Test <test@maintainers.invalid>", readme: "../README.md", mtime: testMTime})
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sharedDeb, sharedBin
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// The package holds what an operator needs, where Debian keeps it, with
// the right modes; the configuration is a conffile; the maintainer
// scripts create the user and folders.
func TestDebContents(t *testing.T) {
	deb, _ := buildTestDeb(t)
	if want := "bebpo-gateway_1.4.0+3.gabc1234_" + runtime.GOARCH + ".deb"; filepath.Base(deb) != want {
		t.Errorf("file %s, want %s", filepath.Base(deb), want)
	}
	info := run(t, "dpkg-deb", "-I", deb)
	for _, s := range []string{"Package: bebpo-gateway", "Version: 1.4.0+3.gabc1234", "Architecture: " + runtime.GOARCH,
		"Maintainer: Test <test@maintainers.invalid>", "Section: net", " conffiles", " postinst", " prerm", " postrm"} {
		if !strings.Contains(info, s) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", s, info)
		}
	}
	if got := run(t, "dpkg-deb", "-f", deb, "Description"); !strings.HasPrefix(got, "beBPo gateway") {
		t.Errorf("description %q", got)
	}
	conffiles := run(t, "sh", "-c", "dpkg-deb --ctrl-tarfile "+deb+" | tar -xOf - ./conffiles")
	if strings.TrimSpace(conffiles) != ConfigPath {
		t.Errorf("conffiles %q, want %s", conffiles, ConfigPath)
	}
	postinst := run(t, "sh", "-c", "dpkg-deb --ctrl-tarfile "+deb+" | tar -xOf - ./postinst")
	for _, s := range []string{"systemd-sysusers /usr/lib/sysusers.d/bebpo-gateway.conf", "systemd-tmpfiles --create", "adduser --system"} {
		if !strings.Contains(postinst, s) {
			t.Errorf("postinst lacks %q", s)
		}
	}

	listing := run(t, "dpkg-deb", "-c", deb)
	want := map[string]string{
		"./usr/bin/bebpo-gateway":                               "-rwxr-xr-x",
		"./usr/lib/systemd/system/bebpo-gateway.service":        "-rw-r--r--",
		"./etc/bebpo-gateway/":                                  "drwxr-x---",
		"./etc/bebpo-gateway/gateway.yaml":                      "-rw-r-----",
		"./usr/lib/sysusers.d/bebpo-gateway.conf":               "-rw-r--r--",
		"./usr/lib/tmpfiles.d/bebpo-gateway.conf":               "-rw-r--r--",
		"./usr/share/bash-completion/completions/bebpo-gateway": "-rw-r--r--",
		"./usr/share/man/man1/bebpo-gateway.1.gz":               "-rw-r--r--",
		"./usr/share/man/man1/bebpo-gateway-check-config.1.gz":  "-rw-r--r--",
		"./usr/share/man/man1/bebpo-gateway-run.1.gz":           "-rw-r--r--",
		"./usr/share/doc/bebpo-gateway/README.md":               "-rw-r--r--",
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("listing line %q", line)
		}
		got[f[len(f)-1]] = f[0]
		if f[1] != "root/root" {
			t.Errorf("%s owned by %s, want root/root", f[len(f)-1], f[1])
		}
		if f[3]+" "+f[4] != testMTime.Format("2006-01-02 15:04") {
			t.Errorf("%s dated %s %s, want %s", f[len(f)-1], f[3], f[4], testMTime)
		}
	}
	for path, mode := range want {
		if got[path] != mode {
			t.Errorf("%s: mode %q, want %q", path, got[path], mode)
		}
	}
}

func TestDebVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3": "1.2.3", "1.2.3": "1.2.3", "v1.4.0-3-gabc1234": "1.4.0+3.gabc1234",
		"v1.4.0-3-gabc1234-dirty": "1.4.0+3.gabc1234.dirty", "v1.3.0-rc1": "1.3.0~rc1",
		"abc1234-dirty": "0.0~git.abc1234.dirty", "": "0.0~git.dev",
	} {
		if got := debVersion(in); got != want {
			t.Errorf("debVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// The same inputs give the same package, byte for byte.
func TestDebReproducible(t *testing.T) {
	deb, bin := buildTestDeb(t)
	again, err := buildDeb(options{bin: bin, version: "v1.4.0-3-gabc1234", arch: runtime.GOARCH, out: t.TempDir(),
		maintainer: "Test <test@maintainers.invalid>", readme: "../README.md", mtime: testMTime})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(deb)
	b, _ := os.ReadFile(again)
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Error("two builds from the same inputs differ")
	}
}

// extract unpacks the package into a fresh root, as dpkg would install it.
func extract(t *testing.T, deb string) string {
	t.Helper()
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	return root
}

// The unit passes systemd-analyze verify in a root holding the package
// (its binary, its manual pages) and the host's targets, and its
// hardening rates as "OK" in systemd-analyze security.
func TestDebUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	deb, _ := buildTestDeb(t)
	root := extract(t, deb)
	unitDir := filepath.Join(root, "usr/lib/systemd/system")
	// The targets the unit orders itself after (multi-user.target, ...).
	host, _ := filepath.Glob("/usr/lib/systemd/system/*.target")
	slices, _ := filepath.Glob("/usr/lib/systemd/system/*.slice")
	if len(host) == 0 {
		t.Skip("no systemd targets on this machine to verify against")
	}
	for _, f := range append(host, slices...) {
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(unitDir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kill, err := exec.LookPath("kill")
	if err != nil {
		t.Skip("no kill(1) for ExecReload")
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(kill); err == nil {
		_ = os.WriteFile(filepath.Join(root, "bin/kill"), b, 0o755)
	}
	verify := func(unit string) (string, error) {
		cmd := exec.Command(sa, "verify", "--root="+root, unit)
		cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify(UnitPath); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	unit, err := os.ReadFile(filepath.Join(root, UnitPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Type=notify", "WatchdogSec=", "User=bebpo-gateway", "StateDirectory=bebpo-gateway",
		"ProtectSystem=strict", "ReadWritePaths=/var/spool/bebpo-gateway", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=\n"} {
		if !bytes.Contains(unit, []byte(s)) {
			t.Errorf("unit lacks %q", s)
		}
	}
	// The check is real: a unit with a typo or a wrong value says so.
	broken := bytes.Replace(unit, []byte("ProtectSystem=strict"), []byte("ProtectSystem=strikt"), 1)
	if err := os.WriteFile(filepath.Join(root, UnitPath), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(UnitPath); err == nil && out == "" {
		t.Error("systemd-analyze verify accepted ProtectSystem=strikt")
	}
	if err := os.WriteFile(filepath.Join(root, UnitPath), unit, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(sa, "security", "--offline=yes", "--root="+root, UnitPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for bebpo-gateway.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0:\n%s", level, out)
	}
}

// The example configuration passes the gateway's own validation, names
// every key the gateway knows (so each is explained), and the packaged
// binary finds in it nothing wrong but the key files an operator still
// has to put in place.
func TestDebExampleConfiguration(t *testing.T) {
	deb, _ := buildTestDeb(t)
	root := extract(t, deb)
	example := filepath.Join(root, ConfigPath)
	if _, err := config.Load(example); err != nil {
		t.Fatalf("the example configuration does not validate: %v", err)
	}
	text, _ := os.ReadFile(example)
	for _, key := range yamlKeys(reflect.TypeOf(config.Config{})) {
		if !regexp.MustCompile(`(?m)(^[ #-]*|[{,] *)` + regexp.QuoteMeta(key) + `:`).Match(text) {
			t.Errorf("the example does not mention %q", key)
		}
	}

	out, _ := exec.Command(filepath.Join(root, BinPath), "check-config", "--config", example, "--json").Output()
	var rep struct {
		Findings []struct{ Level, Key, Text string }
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check-config --json: %v\n%s", err, out)
	}
	errs := 0
	for _, f := range rep.Findings {
		if f.Level != "error" {
			continue
		}
		errs++
		if !strings.Contains(f.Text, "no such file") && !strings.Contains(f.Text, "not writable") {
			t.Errorf("check-config on the example: %s: %s", f.Key, f.Text)
		}
	}
	if errs == 0 {
		t.Error("check-config found the example's key files, which the package does not ship")
	}
}

// yamlKeys lists every key of a configuration type, nested ones too.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, name)
		if f.Type.PkgPath() != "time" {
			out = append(out, yamlKeys(f.Type)...)
		}
	}
	return out
}

// The manual pages and the completion in the package are the ones the
// command table gives.
func TestDebGeneratedFromTheTable(t *testing.T) {
	deb, _ := buildTestDeb(t)
	root := extract(t, deb)
	var want bytes.Buffer
	if err := cli.WriteBashCompletion(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "usr/share/bash-completion/completions/bebpo-gateway"))
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("packaged completion differs from the table's (%v)", err)
	}
	if _, err := exec.LookPath("man"); err != nil {
		return
	}
	page := run(t, "sh", "-c", "MANWIDTH=120 man -l "+filepath.Join(root, "usr/share/man/man1/bebpo-gateway-check-config.1.gz"))
	if !strings.Contains(page, "--online") || !strings.Contains(page, "bebpo-gateway check-config") {
		t.Errorf("man page:\n%s", page)
	}
}
