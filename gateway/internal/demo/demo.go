// Package demo is the self-contained demonstration behind `make run`: demo
// keys (a demo CA, RSA-3072 keystores), a configuration, two OSCI
// intermediary simulators with their own keys (bebpo and justiz-nrw) and
// the gateway with three mailboxes, one of them a court at the second
// intermediary, all on loopback under one directory that a second run
// reuses. Its walkthrough sends to the court with an eEB request and,
// with the court's mailbox playing the court, answers an eEB each way and
// shows the proof of filing (RunWith lets a test answer by the printed
// command). The gateway serves the clerks' web application (on
// 127.0.0.1:8441, or a free port when that is taken) with a demo user
// whose sign-in it prints. It also serves the stand-alone simulator command and gives the
// gateway's end-to-end tests their fixture (Installation: one gateway's
// directory; several may share the demo keys). It is the only production
// package that imports osci/intermediary. Failures are returned as they
// are; nothing here is retried.
package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/textpdf"
)

// The demo's intermediaries, by the names the configuration gives them.
var (
	Intermediary       = Site{Party: Party{ID: "intermediary", Name: "Demo-Intermediaer"}, ConfigName: "bebpo"}
	JustizIntermediary = Site{Party: Party{ID: "justiz-intermediary", Name: "Demo-Intermediaer Justiz NRW"}, ConfigName: "justiz-nrw"}
	// Sites lists every intermediary of the demo in configuration order.
	Sites = []Site{Intermediary, JustizIntermediary}
)

// The demo's mailboxes: two at the first intermediary, and a court at the
// second one (a court code from GDS.Gerichte, for the directory).
var (
	Stadt = Mailbox{Party: Party{"stadt", "Demo-Stadtverwaltung", "DE.Demo.Stadtverwaltung.0001"},
		Organisation: "Stadtverwaltung Demohausen", Intermediary: Intermediary.ConfigName}
	Gericht = Mailbox{Party: Party{"gericht", "Demo-Amtsgericht", "DE.Demo.Amtsgericht.0002"},
		Organisation: "Amtsgericht Demohausen", Intermediary: Intermediary.ConfigName}
	Landgericht = Mailbox{Party: Party{"landgericht", "Demo-Landgericht", "DE.Demo.Landgericht.0003"},
		Organisation: "Landgericht Mönchengladbach", Intermediary: JustizIntermediary.ConfigName, CourtCode: "R1500"}
)

// Mailbox is one of the demo's beBPo mailboxes.
type Mailbox struct {
	Party
	Organisation string
	Intermediary string // the configured name of the intermediary it lives at
	CourtCode    string // GDS.Gerichte code of a court; empty for others
}

// Site is one of the demo's intermediaries: the holder of its keys and
// the name the configuration's intermediaries list gives it.
type Site struct {
	Party
	ConfigName string
}

// Layout names the files of a demo directory.
type Layout struct{ Dir string }

func (l Layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.Dir}, parts...)...)
}
func (l Layout) Config() string   { return l.path("gateway.yaml") }
func (l Layout) Tokens() string   { return l.path("api.tokens") }
func (l Layout) Log() string      { return l.path("gateway.log") }
func (l Layout) Data() string     { return l.path("data") }
func (l Layout) Keys() string     { return l.path("keys") }
func (l Layout) Outgoing() string { return l.path("outgoing") }

// Simulator is the data directory of the simulator playing the named
// intermediary; SimulatorLog its log.
func (l Layout) Simulator(name string) string    { return l.path("simulators", name) }
func (l Layout) SimulatorLog(name string) string { return l.path("simulators", name+".log") }
func (l Layout) Intake(mb string) string         { return l.path("eakte", mb) }
func (l Layout) PDF() string                     { return l.path("documents", "Klageschrift.pdf") }

// Installation is what one demo directory's gateway is configured with:
// its API address, the intermediaries it knows with the addresses of
// their simulators (configured name → host:port), the web application's
// address (none when empty), the mailboxes it
// serves (the first one watches the outgoing folder) and the recipients
// of its address book. With one intermediary, each mailbox carries it
// inline, the form configurations had before the intermediaries list.
type Installation struct {
	API        string
	Web        string // the web application's address; "" serves none
	Sites      map[string]string
	Mailboxes  []Mailbox
	Recipients []Mailbox
}

// siteURL is the OSCI URL of a simulator's address.
func siteURL(addr string) string { return "http://" + addr + "/osci" }

// demoConfigTemplate is the demo's configuration; paths are relative to
// the file, so the demo directory can move.
var demoConfigTemplate = template.Must(template.New("config").Parse(`# Written by "bebpo-gateway demo" at every start (the ports may change).
# A real installation looks the same, with real keystores and the
# intermediaries of your beBPo/EGVP provider and of the courts you write to.
data_dir: data
log:
  format: json
  level: info
api:
  listen: {{.API}}
  tokens_file: api.tokens
{{- if .Web}}
# The clerks' web application (sign in with the user the demo prints).
web:
  listen: {{.Web}}
{{- end}}
trust:
  # The demo CA issues every certificate, so it is listed for both uses. In
  # production vhn_cas holds the beBPo VHN CA (the mailboxes' transport
  # certificates, which carry their SAFE-ID) and content_cas the CAs of the
  # signature cards and authority certificates whose signatures you accept.
  vhn_cas: [keys/ca.pem]
  content_cas: [keys/ca.pem]
  revocation: prefer  # the demo CA has no OCSP responder; production uses require
{{- if .Named}}
# Every intermediary a mailbox lives at or a recipient is reached through:
# messages go to the recipient's intermediary, encrypted to its cipher
# certificate; only its pinned signature certificates sign its answers.
intermediaries:
{{- range .Sites}}
  - name: {{.ConfigName}}
    url: {{.URL}}
    cipher_cert: keys/{{.ID}}-cipher.pem
    signature_certs: [keys/{{.ID}}-signature.pem]
{{- end}}
{{- end}}
intakes:
{{- range .Mailboxes}}
  - name: eakte-{{.ID}}
    type: folder
    path: eakte/{{.ID}}
{{- end}}
outgoing_folder:
  path: outgoing
  mailbox: {{(index .Mailboxes 0).ID}}
  interval: 1s
mailboxes:
{{- range .Mailboxes}}
  - name: {{.ID}}
    safe_id: {{.SafeID}}
{{- if $.Named}}
    intermediary: {{.Intermediary}}
{{- else}}
    intermediary:
      url: {{(index $.Sites 0).URL}}
      cipher_cert: keys/{{(index $.Sites 0).ID}}-cipher.pem
      signature_certs: [keys/{{(index $.Sites 0).ID}}-signature.pem]
{{- end}}
    signature:
      pkcs12: keys/{{.ID}}-signature.p12
      password: {file: keys/{{.ID}}-signature.password}
    cipher:
      pkcs12: keys/{{.ID}}-cipher.p12
      password: {file: keys/{{.ID}}-cipher.password}
    poll_interval: 2s
    intake: eakte-{{.ID}}
    business_card:
      organisation: {{.Organisation}}
      city: Demohausen
{{- end}}
`))

// configSite is an intermediary as the configuration template writes it.
type configSite struct {
	Site
	URL string
}

// Parties returns every holder of demo keys: the mailboxes and the
// intermediaries.
func Parties() []Party {
	return []Party{Stadt.Party, Gericht.Party, Landgericht.Party, Intermediary.Party, JustizIntermediary.Party}
}

// prepareDemo creates or reuses the demo directory: keys, API token,
// sample PDF, address book, and the configuration of the installation.
// It reports whether keys were issued.
func prepareDemo(ctx context.Context, l Layout, inst Installation, now func() time.Time, rnd io.Reader) (bool, error) {
	pki := demoPKI{dir: l.Keys(), now: now, rand: rnd}
	created, err := pki.ensure(Parties())
	if err != nil {
		return false, err
	}
	if err := ensureDemoToken(l.Tokens(), rnd); err != nil {
		return false, err
	}
	note := "Erstellt " + now().UTC().Format(time.RFC3339Nano)
	if err := writeFileAtomic(l.PDF(), PDF(note), 0o644); err != nil {
		return false, err
	}
	if err := writeFileAtomic(l.path("documents", "Antrag.pdf"), PDF("Zum Ausprobieren, "+note), 0o644); err != nil {
		return false, err
	}
	var sites []configSite
	for _, s := range Sites {
		if addr, ok := inst.Sites[s.ConfigName]; ok {
			sites = append(sites, configSite{s, siteURL(addr)})
		}
	}
	if len(sites) == 0 || len(sites) != len(inst.Sites) || len(inst.Mailboxes) == 0 {
		return false, fmt.Errorf("demo: an installation needs mailboxes and known intermediaries, not %v", inst.Sites)
	}
	var cfg bytes.Buffer
	err = demoConfigTemplate.Execute(&cfg, map[string]any{"API": inst.API, "Web": inst.Web, "Named": len(sites) > 1,
		"Sites": sites, "Mailboxes": inst.Mailboxes})
	if err != nil {
		return false, err
	}
	if err := writeFileAtomic(l.Config(), cfg.Bytes(), 0o600); err != nil {
		return false, err
	}
	return created, demoAddressBook(ctx, l, len(sites) > 1, inst.Recipients, now)
}

// demoAddressBook lists the recipients with their cipher certificates
// and, when the configuration names its intermediaries, the name of the
// one each lives at (else the sending mailbox's own is theirs).
func demoAddressBook(ctx context.Context, l Layout, named bool, recipients []Mailbox, now func() time.Time) error {
	cfg, err := config.Load(l.Config())
	if err != nil {
		return err
	}
	book, err := addressbook.Open(filepath.Join(l.Data(), config.AddressBookFile), now, addressbook.WithIntermediaries(cfg))
	if err != nil {
		return err
	}
	for _, mb := range recipients {
		_, _, certFile := demoPKI{dir: l.Keys()}.keystore(mb.ID, certs.PurposeCipher)
		pemText, err := os.ReadFile(certFile)
		if err != nil {
			return err
		}
		r := addressbook.Recipient{SafeID: mb.SafeID, Name: mb.Name, Organisation: mb.Organisation, CipherCert: string(pemText), CourtCode: mb.CourtCode}
		if named {
			r.Intermediary = mb.Intermediary
		}
		if old, err := book.Get(mb.SafeID); err == nil {
			if old.CipherCert == r.CipherCert && old.Intermediary == r.Intermediary && old.IntermediaryURL == "" && old.CourtCode == r.CourtCode {
				continue
			}
			_, err = book.Update(ctx, r)
			if err != nil {
				return fmt.Errorf("demo: address book: %w", err)
			}
			continue
		}
		if _, err := book.Add(ctx, r); err != nil {
			return fmt.Errorf("demo: address book: %w", err)
		}
	}
	return nil
}

// ensureDemoToken writes a random API token (0600) unless one exists.
func ensureDemoToken(path string, rnd io.Reader) error {
	if _, err := api.LoadTokens(path, false); err == nil {
		return nil
	}
	b := make([]byte, 24)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte("demo:"+base64.RawURLEncoding.EncodeToString(b)+"\n"), 0o600)
}

// listenPreferred listens on the preferred loopback address, or on any
// free loopback port when it is taken.
func listenPreferred(addr string) (net.Listener, error) {
	if ln, err := net.Listen("tcp", addr); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// PDF returns a small, valid one-page PDF ("Klageschrift" in Helvetica,
// textpdf). note is printed below the title: every message gets its own,
// because the gateway flags a second message with documents it has
// already received.
func PDF(note string) []byte {
	return textpdf.Document("Klageschrift - Demo", []string{"Gesendet mit bebpo-gateway über den Demo-Intermediär.", note})
}
