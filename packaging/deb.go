package main

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
)

// The unit, example configuration and maintainer scripts.
//
//go:embed files
var staticFiles embed.FS

type options struct {
	bin, version, arch, out, maintainer, readme string
	mtime                                       time.Time
}

// Where the package puts things.
const (
	ConfigPath = "/etc/bebpo-gateway/gateway.yaml"
	UnitPath   = "/usr/lib/systemd/system/bebpo-gateway.service"
	BinPath    = "/usr/bin/bebpo-gateway"
)

// debVersion turns a version into a Debian one: "v1.2.3" → "1.2.3", a
// git describe "v1.2.3-4-gabc" → "1.2.3+4.gabc", "v1.3.0-rc1" →
// "1.3.0~rc1" (before 1.3.0), and one without a release ("abc1234-dirty",
// "dev") → "0.0~git.abc1234.dirty".
func debVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	clean := func(s string) string { return regexp.MustCompile(`[^A-Za-z0-9.+~]+`).ReplaceAllString(s, ".") }
	head, tail, _ := strings.Cut(v, "-")
	if !regexp.MustCompile(`^\d+(\.\d+)*$`).MatchString(head) {
		if v == "" {
			v = "dev"
		}
		return "0.0~git." + clean(v)
	}
	switch {
	case tail == "":
		return head
	case regexp.MustCompile(`^(rc|beta|alpha)`).MatchString(tail):
		return head + "~" + clean(tail)
	}
	return head + "+" + clean(tail)
}

// buildDeb writes the package into o.out and returns its path.
func buildDeb(o options) (string, error) {
	if _, err := os.Stat(o.bin); err != nil {
		return "", fmt.Errorf("packaging: binary: %w", err)
	}
	work, err := os.MkdirTemp("", "bebpo-deb-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	contents, err := generated(work, o)
	if err != nil {
		return "", err
	}
	static, err := staticContents(work)
	if err != nil {
		return "", err
	}
	contents = append(contents, static...)
	contents = append(contents, &files.Content{Source: o.bin, Destination: BinPath, FileInfo: mode(0o755)})
	if o.readme != "" {
		contents = append(contents, &files.Content{Source: o.readme, Destination: "/usr/share/doc/bebpo-gateway/README.md", FileInfo: mode(0o644)})
	}
	for _, c := range contents {
		c.FileInfo.MTime = o.mtime
		c.FileInfo.Owner, c.FileInfo.Group = "root", "root"
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name: "bebpo-gateway", Arch: o.arch, Platform: "linux",
		Version: debVersion(o.version), VersionSchema: "none",
		Section: "net", Priority: "optional", Maintainer: o.maintainer,
		Description: "beBPo gateway: OSCI-Transport 1.2 mail for a public authority\n" +
			"Connects an authority's special mailbox (besonderes Behördenpostfach) to the German\n" +
			"justice and e-government mail network: sends to courts and authorities, fetches what\n" +
			"they send, verifies every signature and certificate and hands each received message,\n" +
			"exactly once and with its verification report, to the records system (eAkte).",
		MTime: o.mtime,
		Overridables: nfpm.Overridables{
			Depends:    []string{"libxml2"},
			Recommends: []string{"systemd", "ca-certificates"},
			Contents:   contents,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(work, "files", "postinst"),
				PreRemove:   filepath.Join(work, "files", "prerm"),
				PostRemove:  filepath.Join(work, "files", "postrm"),
			},
		},
	})
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("packaging: %w", err)
	}
	name := deb.Default.ConventionalFileName(info)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(o.out, ".tmp-"+name+"-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := deb.Default.Package(info, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("packaging: deb: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(o.out, name)
	return path, os.Rename(tmp.Name(), path)
}

func mode(m os.FileMode) *files.ContentFileInfo { return &files.ContentFileInfo{Mode: m} }

// generated writes the manual pages (gzip, as Debian keeps them) and the
// bash completion from the command table.
func generated(work string, o options) (files.Contents, error) {
	man := filepath.Join(work, "man")
	if err := cli.WriteManPages(man, debVersion(o.version), o.mtime); err != nil {
		return nil, fmt.Errorf("packaging: manual pages: %w", err)
	}
	pages, err := os.ReadDir(man)
	if err != nil {
		return nil, err
	}
	var out files.Contents
	for _, p := range pages {
		raw, err := os.ReadFile(filepath.Join(man, p.Name()))
		if err != nil {
			return nil, err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.ModTime = o.mtime // reproducible: no build time in the header
		if _, err := zw.Write(raw); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		src := filepath.Join(man, p.Name()+".gz")
		if err := os.WriteFile(src, gz.Bytes(), 0o644); err != nil {
			return nil, err
		}
		out = append(out, &files.Content{Source: src, Destination: "/usr/share/man/man1/" + p.Name() + ".gz", FileInfo: mode(0o644)})
	}
	var comp bytes.Buffer
	if err := cli.WriteBashCompletion(&comp); err != nil {
		return nil, err
	}
	src := filepath.Join(work, "bebpo-gateway.bash")
	if err := os.WriteFile(src, comp.Bytes(), 0o644); err != nil {
		return nil, err
	}
	out = append(out, &files.Content{Source: src, Destination: "/usr/share/bash-completion/completions/bebpo-gateway", FileInfo: mode(0o644)})
	return out, nil
}

// staticContents copies the embedded files into work (nfpm reads files
// from disk) and says where each goes.
func staticContents(work string) (files.Contents, error) {
	err := fs.WalkDir(staticFiles, "files", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if err == nil {
				err = os.MkdirAll(filepath.Join(work, p), 0o755)
			}
			return err
		}
		b, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(work, p), b, 0o755)
	})
	if err != nil {
		return nil, err
	}
	src := func(n string) string { return filepath.Join(work, "files", n) }
	out := files.Contents{
		{Source: src("bebpo-gateway.service"), Destination: UnitPath, FileInfo: mode(0o644)},
		{Source: src("gateway.yaml"), Destination: ConfigPath, Type: files.TypeConfigNoReplace, FileInfo: mode(0o640)},
		{Source: src("sysusers.conf"), Destination: "/usr/lib/sysusers.d/bebpo-gateway.conf", FileInfo: mode(0o644)},
		{Source: src("tmpfiles.conf"), Destination: "/usr/lib/tmpfiles.d/bebpo-gateway.conf", FileInfo: mode(0o644)},
		{Destination: "/etc/bebpo-gateway", Type: files.TypeDir, FileInfo: mode(0o750)},
	}
	for _, c := range out {
		if c.Source == "" {
			continue
		}
		if _, err := os.Stat(c.Source); err != nil {
			return nil, errors.New("packaging: " + err.Error())
		}
	}
	return out, nil
}
