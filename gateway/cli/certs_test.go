package cli

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// certsLeafWithoutRevocationInfo issues a signature certificate under the
// test intermediate that names neither OCSP responder nor CRL, so that
// revocation is unavailable without any network access.
func certsLeafWithoutRevocationInfo(t *testing.T) string {
	t.Helper()
	caKey, caCert := certstest.PKIKey(t, "intermediate-ca")
	_, cert := certstest.Issue(t, caKey, caCert, &x509.Certificate{SerialNumber: big.NewInt(1000),
		Subject: pkix.Name{CommonName: "No Revocation Info"}, KeyUsage: x509.KeyUsageDigitalSignature}, nil)
	p := filepath.Join(t.TempDir(), "no-pointers.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkCertsCLI runs a certs command and checks its exit code and that
// its output (stdout on success, else stderr) holds each of want.
func checkCertsCLI(t *testing.T, env map[string]string, args []string, wantCode int, want ...string) {
	t.Helper()
	code, out, errs := runCLI(t, env, args...)
	if code != wantCode {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, wantCode, out, errs)
	}
	got := out
	if code != ExitOK {
		got = errs
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

func TestCertsInspect(t *testing.T) {
	root := certstest.RepoRoot(t)
	pki := func(f string) string { return filepath.Join(root, "testdata", "pki", f) }
	javaCerts := filepath.Join(root, "..", "shared", "vectors", "osci-java", "certs")
	egvp := filepath.Join(root, "..", "shared", "vectors", "egvp", "TestnachrichtEeb_1", "certificates")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"P12_PASSWORD": "123456", "WRONG": "654321"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // substrings of stdout (exit 0) or stderr
	}{
		{name: "pem certificate", args: []string{pki("mailbox-signature.pem")}, want: []string{
			"certificate 1 of 1 (leaf)", "CN=Stadt Erkelenz beBPo Signatur", "RSA 3072", "digitalSignature, nonRepudiation",
			"2036-01-01T00:00:00Z", "osci id:        originator_signature_"}},
		{name: "cipher certificate gets the cipher id only", args: []string{"--role", "addressee", pki("mailbox-cipher.pem")}, want: []string{"addressee_cipher_"}},
		{name: "ocsp responder shows its eku", args: []string{pki("ocsp-responder.pem")}, want: []string{"ext key usage:  OCSPSigning"}},
		{name: "der certificate with both usages", args: []string{filepath.Join(egvp, "originator.crt")}, want: []string{
			"originator_cipher_e1aa90e11545600625dc993e5dbe4cc5a03d73f53f9a8b8720e845db787fb08d",
			"originator_signature_e1aa90e11545600625dc993e5dbe4cc5a03d73f53f9a8b8720e845db787fb08d", "RSA 2048"}},
		{name: "pkcs12 with password from env", args: []string{"--password-env", "P12_PASSWORD", filepath.Join(javaCerts, "alice_signature_4096.p12")}, want: []string{
			"certificate 1 of 3 (leaf, private key present)", "Alice Signature 4096", "RSA 4096", "certificate 3 of 3 (ca)"}},
		{name: "pkcs12 with password from file", args: []string{"--password-file", pwFile, filepath.Join(javaCerts, "bob_cipher_4096.p12")}, want: []string{"originator_cipher_"}},
		{name: "pkcs12 wrong password", args: []string{"--password-env", "WRONG", filepath.Join(javaCerts, "bob_cipher_4096.p12")}, wantCode: ExitFail, want: []string{"certs: wrong keystore password"}},
		{name: "pkcs12 without password", args: []string{filepath.Join(javaCerts, "bob_cipher_4096.p12")}, wantCode: ExitUsage, want: []string{"--password-file or --password-env"}},
		{name: "password file and env", args: []string{"--password-file", pwFile, "--password-env", "P12_PASSWORD", pki("root-ca.pem")}, wantCode: ExitUsage, want: []string{"not both"}},
		{name: "unset password variable", args: []string{"--password-env", "NOPE", pki("root-ca.pem")}, wantCode: ExitUsage, want: []string{"NOPE"}},
		{name: "no file", args: nil, wantCode: ExitUsage, want: []string{"give exactly one FILE"}},
		{name: "missing file", args: []string{pki("nope.pem")}, wantCode: ExitFail, want: []string{"no such file"}},
		{name: "not a certificate", args: []string{pki("README.md")}, wantCode: ExitFail, want: []string{"neither PEM, DER nor PKCS#12"}},
		{name: "bad role", args: []string{"--role", "a_b", pki("root-ca.pem")}, wantCode: ExitUsage, want: []string{"not an OSCI role"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkCertsCLI(t, env, append([]string{"certs", "inspect"}, tc.args...), tc.wantCode, tc.want...)
		})
	}
}

func TestCertsInspectJSON(t *testing.T) {
	root := certstest.RepoRoot(t)
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	var data []byte
	for _, f := range []string{"intermediary-signature.pem", "intermediate-ca.pem"} {
		b, err := os.ReadFile(filepath.Join(root, "testdata", "pki", f))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	if err := os.WriteFile(bundle, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, nil, "certs", "inspect", "--json", "--role", "intermed", bundle)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var infos []certsInfo
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(infos) != 2 || infos[0].Role != "leaf" || infos[1].Role != "ca" || !infos[1].IsCA {
		t.Fatalf("infos %+v", infos)
	}
	if len(infos[0].OSCIIDs) != 1 || infos[0].OSCIIDs[0] != "intermed_signature_"+infos[0].SHA256 || infos[0].Serial != "5" {
		t.Fatalf("leaf %+v", infos[0])
	}
}

func TestCertsVerify(t *testing.T) {
	root := certstest.RepoRoot(t)
	pki := func(f string) string { return filepath.Join(root, "testdata", "pki", f) }
	chainFile := filepath.Join(t.TempDir(), "chain.pem")
	leaf, _ := os.ReadFile(pki("mailbox-signature.pem"))
	inter, _ := os.ReadFile(pki("intermediate-ca.pem"))
	if err := os.WriteFile(chainFile, append(leaf, inter...), 0o644); err != nil {
		t.Fatal(err)
	}
	noPointers := certsLeafWithoutRevocationInfo(t)
	at := []string{"--at", "2026-06-01T00:00:00Z", "--revocation", "off"}
	trust := []string{"--trust", pki("root-ca.pem"), "--trust", pki("intermediate-ca.pem")}
	args := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{name: "valid signature", args: args(at, trust, []string{"--purpose", "signature", pki("mailbox-signature.pem")}), want: "valid for signature"},
		{name: "intermediate offered in the file", args: args(at, []string{"--trust", pki("root-ca.pem"), "--purpose", "signature", chainFile}), want: "chains to CN=bebpo-gateway Test Root CA"},
		{name: "pinned cipher", args: args(at, []string{"--pin", pki("intermediary-cipher.pem"), "--purpose", "cipher", pki("intermediary-cipher.pem")}), want: "(pinned)"},
		{name: "legacy key warns", args: args(at, trust, []string{"--purpose", "signature", pki("peer-rsa2048.pem")}), want: "warning: key: RSA key of 2048 bits"},
		{name: "expired", args: args(at, trust, []string{"--purpose", "signature", pki("expired.pem")}), wantCode: ExitFail, want: "certs: expired"},
		{name: "not yet valid", args: args(at, trust, []string{"--purpose", "signature", pki("not-yet-valid.pem")}), wantCode: ExitFail, want: "certs: not yet valid"},
		{name: "wrong usage", args: args(at, trust, []string{"--purpose", "cipher", pki("mailbox-signature.pem")}), wantCode: ExitFail, want: "certs: key usage"},
		{name: "sha1", args: args(at, trust, []string{"--purpose", "signature", pki("sha1.pem")}), wantCode: ExitFail, want: "certs: weak algorithm"},
		{name: "rsa1024", args: args(at, trust, []string{"--purpose", "signature", pki("rsa1024.pem")}), wantCode: ExitFail, want: "certs: weak key"},
		{name: "twin of pinned", args: args(at, []string{"--pin", pki("intermediary-cipher.pem"), "--purpose", "cipher", pki("twin-of-pinned.pem")}), wantCode: ExitFail, want: "certs: not trusted"},
		{name: "unknown ca", args: args(at, trust, []string{"--purpose", "signature", pki("unknown-ca-leaf.pem")}), wantCode: ExitFail, want: "certs: not trusted"},
		{name: "fail-closed without revocation source", args: args([]string{"--at", "2026-06-01T00:00:00Z"}, trust, []string{"--purpose", "signature", noPointers}), wantCode: ExitFail, want: "certs: revocation status unavailable"},
		{name: "fail-open without revocation source", args: args([]string{"--at", "2026-06-01T00:00:00Z", "--revocation", "prefer"}, trust, []string{"--purpose", "signature", noPointers}), want: "revocation  warning"},
		{name: "ca certificate as leaf", args: args(at, trust, []string{"--purpose", "signature", pki("intermediate-ca.pem")}), wantCode: ExitFail, want: "certs: key usage"},
		{name: "trust directory missing", args: args(at, []string{"--trust", pki("nope"), "--purpose", "signature", pki("expired.pem")}), wantCode: ExitFail, want: "--trust"},
		{name: "missing purpose", args: args(at, trust, []string{pki("mailbox-signature.pem")}), wantCode: ExitUsage, want: "--purpose is required"},
		{name: "bad purpose", args: args(at, trust, []string{"--purpose", "encrypt", pki("mailbox-signature.pem")}), wantCode: ExitUsage, want: "unknown purpose"},
		{name: "bad revocation mode", args: args(trust, []string{"--revocation", "maybe", "--purpose", "cipher", pki("mailbox-cipher.pem")}), wantCode: ExitUsage, want: "unknown revocation mode"},
		{name: "bad time", args: args(trust, []string{"--at", "yesterday", "--purpose", "cipher", pki("mailbox-cipher.pem")}), wantCode: ExitUsage, want: "--at"},
		{name: "nothing trusted", args: []string{"--purpose", "cipher", pki("mailbox-cipher.pem")}, wantCode: ExitUsage, want: "give --trust or --pin"},
		{name: "two files", args: args(at, trust, []string{"--purpose", "cipher", pki("mailbox-cipher.pem"), pki("mailbox-cipher.pem")}), wantCode: ExitUsage, want: "exactly one FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkCertsCLI(t, nil, append([]string{"certs", "verify"}, tc.args...), tc.wantCode, tc.want)
		})
	}
}

func TestCertsVerifyJSON(t *testing.T) {
	root := certstest.RepoRoot(t)
	pki := func(f string) string { return filepath.Join(root, "testdata", "pki", f) }
	for _, tc := range []struct {
		name      string
		file      string
		wantCode  int
		wantValid bool
	}{
		{name: "valid", file: "mailbox-cipher.pem", wantValid: true},
		{name: "expired", file: "expired.pem", wantCode: ExitFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := runCLI(t, nil, "certs", "verify", "--json", "--at", "2026-06-01T00:00:00Z", "--revocation", "off",
				"--trust", pki("root-ca.pem"), "--trust", pki("intermediate-ca.pem"), "--purpose", "cipher", pki(tc.file))
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d", code, tc.wantCode)
			}
			var res struct {
				Valid     bool   `json:"valid"`
				Purpose   string `json:"purpose"`
				CheckedAt string `json:"checked_at"`
				Checks    []struct{ Name, Outcome string }
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if res.Valid != tc.wantValid || res.Purpose != "cipher" || res.CheckedAt != "2026-06-01T00:00:00Z" || len(res.Checks) == 0 {
				t.Fatalf("result %+v", res)
			}
		})
	}
}
