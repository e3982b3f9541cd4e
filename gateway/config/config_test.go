package config

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
	c, err := Decode(strings.NewReader(validConfig))
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
	p := writeConfig(t, validConfig)
	dir := filepath.Dir(p)
	c, err := Load(p)
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
		{"unknown top-level key", appended("bogus: 1\n"), "field bogus not found"},
		{"unknown nested key", replaced("    poll_interval: 2m", "    poll_intervall: 2m"), "field poll_intervall not found"},
		{"missing data_dir", replaced("data_dir: var", ""), "data_dir: is required"},
		{"bad log format", appended("log: {format: xml}\n"), "log.format"},
		{"no tokens", replaced("  tokens_file: tokens", "  tokens_file: \"\""), "api.tokens_file"},
		{"public listen without TLS", replaced("  tokens_file: tokens", "  tokens_file: tokens\n  listen: 0.0.0.0:8440"), "api.listen"},
		{"bad revocation", replaced("trust:\n", "trust:\n  revocation: sometimes\n"), "trust.revocation"},
		{"bad mailbox name", replaced("name: stadt", "name: Stadt Erkelenz"), "mailboxes[0].name"},
		{"bad SAFE-ID", replaced("safe_id: DE.Justiz", "safe_id: /etc/DE.Justiz"), "mailboxes[0].safe_id"},
		{"bad intermediary url", replaced("https://intermediaer.example/osci", "ftp://x"), "mailboxes[0].intermediary.url"},
		{"no pinned signature cert", replaced("      signature_certs: [pki/intermed-sig.pem]\n", ""), "mailboxes[0].intermediary.signature_certs"},
		{"p12 without password", replaced("      password: {file: keys/sig.pw}\n", ""), "mailboxes[0].signature.password"},
		{"both p12 and pem", replaced("      key: keys/cipher.key", "      pkcs12: x.p12\n      key: keys/cipher.key"), "mailboxes[0].cipher"},
		{"poll too fast", replaced("poll_interval: 2m", "poll_interval: 10ms"), "mailboxes[0].poll_interval"},
		{"unknown intake", replaced("    intake: eakte", "    intake: dms"), "mailboxes[0].intake"},
		{"bad intake type", replaced("type: folder", "type: ftp"), "intakes[0].type"},
		{"duplicate mailbox", func(s string) string {
			i := strings.Index(s, "  - name: stadt")
			return s + s[i:]
		}, "mailboxes[1].name"},
		{"outgoing folder names unknown mailbox", appended("outgoing_folder: {path: out, mailbox: rathaus}\n"), "outgoing_folder.mailbox"},
		{"multi-line business card field", replaced("    intake: eakte", "    intake: eakte\n    business_card: {organisation: \"Stadt\\nErkelenz\"}"), "mailboxes[0].business_card.organisation"},
		{"unknown business card field", replaced("    intake: eakte", "    intake: eakte\n    business_card: {fax: 1}"), "field fax not found"},
		{"two documents", appended("---\ndata_dir: x\n"), "more than one YAML document"},
		{"empty", func(string) string { return "" }, "the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validated(tc.edit(validConfig))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error %q does not name %q", err, tc.wantKey)
			}
		})
	}
}

// Every problem is reported at once, each naming its key, so an operator
// fixes a broken file in one round.
func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	s := strings.Replace(validConfig, "data_dir: var", "", 1)
	s = strings.Replace(s, "safe_id: DE.Justiz", "safe_id: /etc/DE.Justiz", 1)
	s = strings.Replace(s, "poll_interval: 2m", "poll_interval: 10ms", 1)
	s += "log: {format: xml, level: loud}\n"
	err := refused(t, s)
	for _, key := range []string{"data_dir:", "mailboxes[0].safe_id:", "mailboxes[0].poll_interval:", "log.format:", "log.level:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("%q missing from:\n%v", key, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 5 {
		t.Errorf("%d problems reported, want 5:\n%v", n, err)
	}
}

// Plain http to another host would send OSCI requests and eAkte
// deliveries in the clear (or to whoever answers that name): refused
// unless the operator says so next to the URL.
func TestPlainHTTPOnlyToLoopbackOrExplicitlyAllowed(t *testing.T) {
	for _, c := range []struct {
		url, extra string
		ok         bool
	}{
		{"https://intermediaer.example/osci", "", true},
		{"http://127.0.0.1:18081/osci", "", true},
		{"http://[::1]:18081/osci", "", true},
		{"http://localhost:18081/osci", "", true},
		{"http://intermediaer.example/osci", "", false},
		{"http://intermediaer.example/osci", "      allow_insecure_http: true\n", true},
	} {
		s := strings.Replace(validConfig, "      url: https://intermediaer.example/osci\n", "      url: "+c.url+"\n"+c.extra, 1)
		intake := "  - name: dms\n    type: http\n    url: " + strings.Replace(c.url, "/osci", "/intake", 1) + "\n"
		if c.extra != "" {
			intake += "    allow_insecure_http: true\n"
		}
		s = strings.Replace(s, "    path: intake\n", "    path: intake\n"+intake, 1)
		cfg, err := Decode(strings.NewReader(s))
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		err = cfg.Validate()
		switch {
		case c.ok && err != nil:
			t.Errorf("%s refused: %v", c.url, err)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "mailboxes[0].intermediary.url") || !strings.Contains(err.Error(), "intakes[1].url")):
			t.Errorf("%s: err = %v, want both URLs refused", c.url, err)
		}
	}
}

// A keystore password file others can read is refused at start naming the
// file, as ssh refuses a readable key; group access only when configured.
func TestSecretFilesReadableByOthersAreRefused(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "sig.pw")
	if err := os.WriteFile(pw, []byte("123456\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	c := &Config{}
	_, err := c.LoadKeystore("mailboxes[0].signature", KeystoreConfig{PKCS12: filepath.Join(dir, "sig.p12"), Password: SecretRef{File: pw}}, os.Getenv)
	if !errors.Is(err, ErrKeyMaterial) || !strings.Contains(err.Error(), "mailboxes[0].signature.password") || !strings.Contains(err.Error(), pw) {
		t.Fatalf("err = %v, want ErrKeyMaterial naming the key and the file", err)
	}
	c.AllowGroupReadableSecrets = true
	if got, err := c.Resolve(SecretRef{File: pw}, os.Getenv); err != nil || got != "123456" {
		t.Errorf("group-readable with allow_group_readable_secrets: %q, %v", got, err)
	}
	if err := os.Chmod(pw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(SecretRef{File: pw}, os.Getenv); err == nil {
		t.Error("a world-readable secret was read")
	}
}
func TestConfigAddressBookPath(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default in the data directory", Config{DataDir: "/var/lib/bebpo"}, filepath.Join("/var/lib/bebpo", AddressBookFile)},
		{"configured", Config{DataDir: "/var/lib/bebpo", AddressBook: "/etc/bebpo/book.json"}, "/etc/bebpo/book.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.AddressBookPath(); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}

// The signature algorithm is a per-mailbox setting; an unknown one is
// refused naming the key.
func TestSignatureAlgorithmPerMailbox(t *testing.T) {
	c, err := Decode(strings.NewReader(strings.Replace(validConfig, "    intake: eakte", "    intake: eakte\n    signature_algorithm: rsa-pss-sha256", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Mailboxes[0].SignatureAlgorithm.String(); got != "rsa-pss-sha256" {
		t.Errorf("algorithm %q", got)
	}
	c, err = Decode(strings.NewReader(validConfig))
	if err != nil || c.Mailboxes[0].SignatureAlgorithm.String() != "rsa-sha256" {
		t.Errorf("default: %v %v", c.Mailboxes[0].SignatureAlgorithm, err)
	}
	_, err = Decode(strings.NewReader(strings.Replace(validConfig, "    intake: eakte", "    intake: eakte\n    signature_algorithm: rsa-sha1", 1)))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "rsa-sha1") {
		t.Errorf("rsa-sha1: %v", err)
	}
}

// The end-to-end policy and the XML limits are per mailbox; a limit left
// out keeps its default, a negative one is refused.
func TestEndToEndPolicyAndXMLLimits(t *testing.T) {
	c, err := Decode(strings.NewReader(strings.Replace(validConfig, "    intake: eakte",
		"    intake: eakte\n    require_end_to_end: true\n    xml_limits: {max_elements: 500000}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mailboxes[0]
	l := m.XMLLimits.Limits()
	if !m.RequireEndToEnd || l.MaxElements != 500000 || l.MaxDepth != 64 || l.MaxBytes != 32<<20 {
		t.Errorf("policy %v, limits %+v", m.RequireEndToEnd, l)
	}
	c, _ = Decode(strings.NewReader(strings.Replace(validConfig, "    intake: eakte", "    intake: eakte\n    xml_limits: {max_depth: -1}", 1)))
	if err := c.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "mailboxes[0].xml_limits") {
		t.Errorf("negative limit: %v", err)
	}
}

const namedIntermediaries = `
intermediaries:
  - name: bebpo
    url: https://bebpo.example/osci
    cipher_cert: pki/bebpo-cipher.pem
    signature_certs: [pki/bebpo-sig.pem]
  - name: justiz-nrw
    url: https://justiz.nrw.example/osci
    cipher_cert: pki/nrw-cipher.pem
    signature_certs: [pki/nrw-sig.pem]
    circuit_failures: 5
`

func TestMailboxNamesItsIntermediary(t *testing.T) {
	cfg := namedIntermediaries + strings.Replace(validConfig, `    intermediary:
      url: https://intermediaer.example/osci
      cipher_cert: pki/intermed-cipher.pem
      signature_certs: [pki/intermed-sig.pem]
`, "    intermediary: justiz-nrw\n", 1)
	c, err := Decode(strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ic := c.Mailboxes[0].Intermediary
	if ic.Name != "justiz-nrw" || ic.URL != "https://justiz.nrw.example/osci" || ic.CircuitFailures != 5 || ic.CircuitOpen != DefaultCircuitOpen {
		t.Errorf("mailbox intermediary %+v", ic)
	}
	if got := c.IntermediaryNames(); strings.Join(got, ",") != "bebpo,justiz-nrw" {
		t.Errorf("intermediaries %v", got)
	}
	if err := c.Validate(); err != nil || len(c.Intermediaries) != 2 {
		t.Errorf("a second validation changed the configuration: %v, %d intermediaries", err, len(c.Intermediaries))
	}
}

func TestInlineIntermediaryIsListedOnce(t *testing.T) {
	second := strings.Replace(validConfig[strings.Index(validConfig, "  - name: stadt"):], "name: stadt", "name: ordnungsamt", 1)
	second = strings.Replace(second, "9999", "9998", 1)
	c, err := Decode(strings.NewReader(validConfig + second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Intermediaries) != 1 || c.Intermediaries[0].Name != "stadt" {
		t.Fatalf("intermediaries %+v, want the inline one once, named after its first mailbox", c.Intermediaries)
	}
	if c.Mailboxes[1].Intermediary.Name != "stadt" {
		t.Errorf("second mailbox's intermediary %q", c.Mailboxes[1].Intermediary.Name)
	}
}

func TestIntermediaryErrorsNameTheKey(t *testing.T) {
	inline := `    intermediary:
      url: https://intermediaer.example/osci
      cipher_cert: pki/intermed-cipher.pem
      signature_certs: [pki/intermed-sig.pem]
`
	tests := []struct{ name, cfg, want string }{
		{"unknown name", strings.Replace(validConfig, inline, "    intermediary: justiz-bw\n", 1),
			`mailboxes[0].intermediary: names no intermediary "justiz-bw" (defined: none)`},
		{"missing", strings.Replace(validConfig, inline, "", 1), "mailboxes[0].intermediary: is required"},
		{"unknown inline key", strings.Replace(validConfig, "      cipher_cert: pki/intermed-cipher.pem", "      cipher: x", 1), "field cipher not found"},
		{"listed without certificates", "intermediaries:\n  - name: bebpo\n    url: https://b.example/osci\n" + validConfig,
			"intermediaries[0].cipher_cert: is required"},
		{"listed twice", namedIntermediaries + "  - name: bebpo\n    url: https://c.example/osci\n    cipher_cert: c\n    signature_certs: [s]\n" + validConfig,
			`intermediaries[2].name: "bebpo" is used twice`},
		{"inline name taken", "intermediaries:\n  - name: bebpo\n    url: https://intermediaer.example/osci\n    cipher_cert: other.pem\n    signature_certs: [s.pem]\n" +
			strings.Replace(validConfig, "      url: https://intermediaer.example/osci", "      name: bebpo\n      url: https://intermediaer.example/osci", 1),
			`mailboxes[0].intermediary.name: "bebpo" is also the name of intermediaries[0], with other settings`},
		{"circuit", namedIntermediaries + "    circuit_open: 1h\n" + validConfig, "intermediaries[1].circuit_open: must be between 1s and 15m0s"},
		{"confirm pacing", validConfig + "sending:\n  confirm_first: 1h\n  confirm_max: 1m\n", "sending: needs 1s <= confirm_first <= confirm_max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(strings.NewReader(tt.cfg))
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not match ErrConfig", err)
			}
		})
	}
}
