package gateway

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const validConfig = `
data_dir: var
api:
  tokens_file: tokens
trust:
  cas: [pki/root.pem]
intakes:
  - name: eakte
    type: folder
    path: intake
mailboxes:
  - name: stadt
    safe_id: DE.Justiz.233a8870-2319-4dbc-9f68-a4cc9da8f429.9999
    intermediary:
      url: https://intermediaer.example/osci
      cipher_cert: pki/intermed-cipher.pem
      signature_certs: [pki/intermed-sig.pem]
    signature:
      pkcs12: keys/sig.p12
      password: {file: keys/sig.pw}
    cipher:
      key: keys/cipher.key
      cert: keys/cipher.pem
    poll_interval: 2m
    intake: eakte
`

func TestDecodeConfigValid(t *testing.T) {
	c, err := DecodeConfig(strings.NewReader(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.API.Listen != DefaultAPIListen || c.Log.Format != "json" || c.Trust.Revocation != "require" {
		t.Errorf("defaults not applied: %+v %+v %+v", c.API, c.Log, c.Trust)
	}
	if got := c.Mailboxes[0].PollInterval; got != 2*time.Minute {
		t.Errorf("poll interval %s", got)
	}
}

func TestLoadConfigResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(p, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "keys/sig.pw"); c.Mailboxes[0].Signature.Password.File != want {
		t.Errorf("password file %q, want %q", c.Mailboxes[0].Signature.Password.File, want)
	}
	if want := filepath.Join(dir, "var"); c.DataDir != want {
		t.Errorf("data dir %q, want %q", c.DataDir, want)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		wantKey string
	}{
		{"unknown top-level key", func(s string) string { return s + "bogus: 1\n" }, "field bogus not found"},
		{"unknown nested key", func(s string) string {
			return strings.Replace(s, "    poll_interval: 2m", "    poll_intervall: 2m", 1)
		}, "field poll_intervall not found"},
		{"missing data_dir", func(s string) string { return strings.Replace(s, "data_dir: var", "", 1) }, "data_dir: is required"},
		{"bad log format", func(s string) string { return s + "log: {format: xml}\n" }, "log.format"},
		{"no tokens", func(s string) string { return strings.Replace(s, "  tokens_file: tokens", "  tokens_file: \"\"", 1) }, "api.tokens_file"},
		{"public listen without TLS", func(s string) string {
			return strings.Replace(s, "  tokens_file: tokens", "  tokens_file: tokens\n  listen: 0.0.0.0:8440", 1)
		}, "api.listen"},
		{"bad revocation", func(s string) string { return strings.Replace(s, "trust:\n", "trust:\n  revocation: sometimes\n", 1) }, "trust.revocation"},
		{"bad mailbox name", func(s string) string { return strings.Replace(s, "name: stadt", "name: Stadt Erkelenz", 1) }, "mailboxes[0].name"},
		{"bad SAFE-ID", func(s string) string { return strings.Replace(s, "safe_id: DE.Justiz", "safe_id: /etc/DE.Justiz", 1) }, "mailboxes[0].safe_id"},
		{"bad intermediary url", func(s string) string {
			return strings.Replace(s, "https://intermediaer.example/osci", "ftp://x", 1)
		}, "mailboxes[0].intermediary.url"},
		{"no pinned signature cert", func(s string) string {
			return strings.Replace(s, "      signature_certs: [pki/intermed-sig.pem]\n", "", 1)
		}, "mailboxes[0].intermediary.signature_certs"},
		{"p12 without password", func(s string) string {
			return strings.Replace(s, "      password: {file: keys/sig.pw}\n", "", 1)
		}, "mailboxes[0].signature.password"},
		{"both p12 and pem", func(s string) string {
			return strings.Replace(s, "      key: keys/cipher.key", "      pkcs12: x.p12\n      key: keys/cipher.key", 1)
		}, "mailboxes[0].cipher"},
		{"poll too fast", func(s string) string { return strings.Replace(s, "poll_interval: 2m", "poll_interval: 10ms", 1) }, "mailboxes[0].poll_interval"},
		{"unknown intake", func(s string) string { return strings.Replace(s, "    intake: eakte", "    intake: dms", 1) }, "mailboxes[0].intake"},
		{"bad intake type", func(s string) string { return strings.Replace(s, "type: folder", "type: ftp", 1) }, "intakes[0].type"},
		{"duplicate mailbox", func(s string) string {
			i := strings.Index(s, "  - name: stadt")
			return s + s[i:]
		}, "mailboxes[1].name"},
		{"outgoing folder names unknown mailbox", func(s string) string {
			return s + "outgoing_folder: {path: out, mailbox: rathaus}\n"
		}, "outgoing_folder.mailbox"},
		{"multi-line business card field", func(s string) string {
			return strings.Replace(s, "    intake: eakte", "    intake: eakte\n    business_card: {organisation: \"Stadt\\nErkelenz\"}", 1)
		}, "mailboxes[0].business_card.organisation"},
		{"unknown business card field", func(s string) string {
			return strings.Replace(s, "    intake: eakte", "    intake: eakte\n    business_card: {fax: 1}", 1)
		}, "field fax not found"},
		{"two documents", func(s string) string { return s + "---\ndata_dir: x\n" }, "more than one YAML document"},
		{"empty", func(string) string { return "" }, "the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeConfig(strings.NewReader(tc.edit(validConfig)))
			if err == nil {
				err = c.Validate()
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error %q does not name %q", err, tc.wantKey)
			}
		})
	}
}
