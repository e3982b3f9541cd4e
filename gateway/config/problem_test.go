package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// brokenConfig has one mistake of each kind the file can hold: an unknown
// key, a value of the wrong type, a bad value, an unknown key in an inline
// intermediary and a missing required key (data_dir).
const brokenConfig = `api:
  tokens_file: tokens
  listn: 127.0.0.1:8440
trust:
  cas: [pki/root.pem]
intakes:
  - name: eakte
    type: folder
    path: intake
mailboxes:
  - name: stadt
    safe_id: /etc/passwd
    intermediary:
      url: https://intermediaer.example/osci
      cipher_cert: pki/intermed-cipher.pem
      signature_certs: [pki/intermed-sig.pem]
      circuit_failurs: 3
    signature:
      pkcs12: keys/sig.p12
      password: {file: keys/sig.pw}
    cipher:
      key: keys/cipher.key
      cert: keys/cipher.pem
    poll_interval: often
    intake: eakte
`

// Every problem of the file comes in one run, each with its key and the
// line that sets it: decoding goes on past an unknown key or a value of
// the wrong type, so validation still sees the rest.
func TestReadLocatesEveryProblem(t *testing.T) {
	path := writeConfig(t, brokenConfig)
	f, err := Read(path)
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Read: %v, want ErrConfig", err)
	}
	if f.Config == nil {
		t.Fatal("no configuration returned beside the problems")
	}
	type found struct {
		key  string
		line int
	}
	want := []found{
		{"api.listn", 3},
		{"mailboxes[0].intermediary.circuit_failurs", 17},
		{"mailboxes[0].poll_interval", 24},
		{"data_dir", 0},
		{"mailboxes[0].safe_id", 12},
	}
	ps := Problems(err)
	var got []found
	for _, p := range ps {
		got = append(got, found{p.Key, p.Line})
	}
	if len(got) != len(want) {
		t.Fatalf("problems %v, want %v:\n%v", got, want, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d at %v, want %v (%v)", i, got[i], want[i], ps[i])
		}
	}
	if msg := ps[0].Error(); msg != "gateway: invalid configuration: line 3: api.listn: unknown key, check its spelling and indentation (field listn not found in type config.APIConfig)" {
		t.Errorf("message %q", msg)
	}
	if !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("the error does not name the file: %v", err)
	}
	if l := f.Line("mailboxes[0].signature.password.file"); l != 20 {
		t.Errorf("Line(password.file) = %d, want 20", l)
	}
	if l := f.Line("mailboxes[0].intermediary.signature_certs[0]"); l != 16 {
		t.Errorf("Line(signature_certs[0]) = %d, want 16", l)
	}
	// A key the file does not set lies within the nearest one it does.
	if l := f.Line("mailboxes[0].xml_limits.max_depth"); l != 11 {
		t.Errorf("Line(unset key) = %d, want 11 (the mailbox)", l)
	}
}

// A key-material problem found later gets its line from the file too,
// and still matches its kind and its cause.
func TestLocateKeyMaterialProblem(t *testing.T) {
	path := writeConfig(t, validConfig)
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Config.LoadIdentity("mailboxes[0]", f.Config.Mailboxes[0], time.Now(), os.Getenv)
	err = f.Locate(err)
	ps := Problems(err)
	if len(ps) != 2 {
		t.Fatalf("%d problems, want one per key pair: %v", len(ps), err)
	}
	for i, want := range []struct {
		key  string
		line int
	}{{"mailboxes[0].signature.password", 20}, {"mailboxes[0].cipher", 21}} {
		if ps[i].Key != want.key || ps[i].Line != want.line || !errors.Is(ps[i], ErrKeyMaterial) || !errors.Is(ps[i], os.ErrNotExist) {
			t.Errorf("problem %d: %q at line %d (%v), want %s at line %d, ErrKeyMaterial and os.ErrNotExist", i, ps[i].Key, ps[i].Line, ps[i], want.key, want.line)
		}
	}
}
