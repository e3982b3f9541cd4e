package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// writeFile writes data to a new file in dir with the given mode.
func writeFile(t *testing.T, dir, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPEM(t *testing.T) {
	dir := t.TempDir()
	key := readPKI(t, "mailbox-signature.key")
	cert := readPKI(t, "mailbox-signature.pem")
	chain := append(append([]byte{}, readPKI(t, "intermediate-ca.pem")...), cert...) // leaf not first
	certPath := writeFile(t, dir, "cert.pem", chain, 0o644)
	otherKey := readPKI(t, "mailbox-cipher.key")

	tests := []struct {
		name      string
		keyData   []byte
		mode      os.FileMode
		wantErr   error
		wantChain int
	}{
		{name: "pkcs8 key mode 0600", keyData: key, mode: 0o600, wantChain: 1},
		{name: "pkcs8 key mode 0400", keyData: key, mode: 0o400, wantChain: 1},
		{name: "key readable by others", keyData: key, mode: 0o644, wantErr: ErrKeyFilePermissions},
		{name: "key readable by group", keyData: key, mode: 0o640, wantErr: ErrKeyFilePermissions},
		{name: "key of another certificate", keyData: otherKey, mode: 0o600, wantErr: ErrKeyMismatch},
		{name: "no key in file", keyData: cert, mode: 0o600, wantErr: ErrBadKeystore},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := LoadPEM(writeFile(t, dir, "key"+string(rune('a'+i))+".pem", tc.keyData, tc.mode), certPath)
			if failedAsWanted(t, err, tc.wantErr) {
				return
			}
			if kp.Cert.Subject.CommonName != "Stadt Erkelenz beBPo Signatur" || len(kp.Chain) != tc.wantChain {
				t.Fatalf("leaf %q chain %d", kp.Cert.Subject.CommonName, len(kp.Chain))
			}
		})
	}
}

func TestKeyFilePermissionMessage(t *testing.T) {
	p := writeFile(t, t.TempDir(), "k.pem", readPKI(t, "mailbox-signature.key"), 0o644)
	_, err := LoadPKCS12(p, "x")
	want := "certs: key file " + p + " is readable by group or others (mode 0644); chmod 600 it"
	if err == nil || err.Error() != want || !errors.Is(err, ErrKeyFilePermissions) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestParsePrivateKeyFormats(t *testing.T) {
	kp := loadKP(t, "mailbox-signature")
	rsaKey := kp.Key.(*rsa.PrivateKey)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	enc := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}})
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "pkcs1 rsa", data: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})},
		{name: "sec1 ecdsa", data: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})},
		{name: "pkcs8 after a certificate block", data: append(readPKI(t, "mailbox-signature.pem"), readPKI(t, "mailbox-signature.key")...)},
		{name: "encrypted legacy pem", data: enc, wantErr: ErrBadKeystore},
		{name: "encrypted pkcs8", data: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), wantErr: ErrBadKeystore},
		{name: "garbage pkcs8", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), wantErr: ErrBadKeystore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tc.data)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestLoadPKCS12OpenSSL loads keystores written by `openssl pkcs12 -export`
// in OpenSSL 3's default (PBES2/AES-256, SHA-256 MAC), its -legacy form
// (RC2-40 certificates, 3DES key, SHA-1 MAC) and a 3DES-only form.
func TestLoadPKCS12OpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (make deps installs it)")
	}
	dir := t.TempDir()
	keyPath := writeFile(t, dir, "key.pem", readPKI(t, "mailbox-cipher.key"), 0o600)
	certPath := writeFile(t, dir, "cert.pem", readPKI(t, "mailbox-cipher.pem"), 0o644)
	caPath := writeFile(t, dir, "ca.pem", append(readPKI(t, "intermediate-ca.pem"), readPKI(t, "root-ca.pem")...), 0o644)
	const password = "Geheim-äöü 1"
	pwPath := writeFile(t, dir, "pw", []byte(password), 0o600)

	tests := []struct {
		name  string
		extra []string
		info  []string // options `openssl pkcs12 -info` needs to read it
		want  string   // substring of `openssl pkcs12 -info` proving the form
	}{
		{name: "modern pbes2 aes", want: "PBES2"},
		{name: "legacy rc2 3des", extra: []string{"-legacy"}, info: []string{"-legacy"}, want: "pbeWithSHA1And40BitRC2-CBC"},
		{name: "3des sha1 mac", extra: []string{"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"}, want: "pbeWithSHA1And3-KeyTripleDES-CBC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".p12")
			args := append([]string{"pkcs12", "-export", "-inkey", keyPath, "-in", certPath, "-certfile", caPath,
				"-passout", "file:" + pwPath, "-out", out}, tc.extra...)
			if b, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %v: %v\n%s", args, err, b)
			}
			info, _ := exec.Command("openssl", append([]string{"pkcs12", "-info", "-noout", "-in", out, "-passin", "file:" + pwPath}, tc.info...)...).CombinedOutput()
			if !strings.Contains(string(info), tc.want) {
				t.Fatalf("keystore is not in the intended form (%s):\n%s", tc.want, info)
			}
			if err := os.Chmod(out, 0o600); err != nil {
				t.Fatal(err)
			}
			kp, err := LoadPKCS12(out, password)
			if err != nil {
				t.Fatal(err)
			}
			if kp.Cert.Subject.CommonName != "Stadt Erkelenz beBPo Verschluesselung" || len(kp.Chain) != 2 {
				t.Fatalf("leaf %q, chain %d", kp.Cert.Subject.CommonName, len(kp.Chain))
			}
			if err := CheckOwnKeyPair(kp, PurposeCipher, refTime); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadPKCS12(out, "wrong"); !errors.Is(err, ErrBadPassword) {
				t.Fatalf("wrong password: err = %v", err)
			}
			if err := os.Chmod(out, 0o604); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadPKCS12(out, password); !errors.Is(err, ErrKeyFilePermissions) {
				t.Fatalf("mode 0604: err = %v", err)
			}
		})
	}
	if _, err := LoadPKCS12Data([]byte("not a keystore"), password); !errors.Is(err, ErrBadKeystore) {
		t.Fatalf("garbage: err = %v", err)
	}
}

// TestLoadPKCS12ReferenceLibrary loads the OSCI reference library's
// sample keystores (password 123456) and checks that each holds the
// certificate published beside it and its CA chain.
func TestLoadPKCS12ReferenceLibrary(t *testing.T) {
	dir := filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "certs")
	files, err := filepath.Glob(filepath.Join(dir, "*.p12"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no keystores in %s: %v", dir, err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".p12")
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kp, err := LoadPKCS12Data(data, "123456")
			if err != nil {
				t.Fatal(err)
			}
			published, err := LoadCertificates(filepath.Join(dir, base+".cer"))
			if err != nil {
				t.Fatal(err)
			}
			if !kp.Cert.Equal(published[0]) {
				t.Fatalf("keystore certificate differs from %s.cer", base)
			}
			if got := KeyDescription(kp.Cert); got != "RSA 4096" {
				t.Fatalf("key %s", got)
			}
			if len(kp.Chain) == 0 {
				t.Fatal("no CA chain in keystore")
			}
			p := PurposeSignature
			if strings.Contains(base, "_cipher_") {
				p = PurposeCipher
			}
			if err := CheckKeyUsage(kp.Cert, p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCertificateIDEGVP checks CertificateID against the Ids a production
// EGVP message carries for its certificates.
func TestCertificateIDEGVP(t *testing.T) {
	dir := filepath.Join(certstest.SharedDir(t), "vectors", "egvp", "TestnachrichtEeb_1")
	msg, err := os.ReadFile(filepath.Join(dir, "oscicontentdata.osci"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, role string
		purpose          Purpose
		want             string
	}{
		{"originator cipher", "originator.crt", "originator", PurposeCipher, "originator_cipher_e1aa90e11545600625dc993e5dbe4cc5a03d73f53f9a8b8720e845db787fb08d"},
		{"originator signature (VHN)", "originator_transportsignatur.crt", "originator", PurposeSignature, "originator_signature_239554e6b0e24a2eaf04dcdab58fb80c30ef022494cf1533a7dda6650ba9cc0a"},
		{"intermediary signature", "osci-manager.crt", "intermed", PurposeSignature, "intermed_signature_1566f35679e918393d9329de6fc852660d832c45da744ffb4ae895ba4c046adb"},
		{"addressee cipher", "addressee.crt", "addressee", PurposeCipher, "addressee_cipher_c5cdcd8d8001a3b2b1061d6b3f17cd58d8506753f82145947c3d0bb00d1f9227"},
		{"reader cipher", "readers/1574072311557.crt", "reader30", PurposeCipher, "reader30_cipher_c5cdcd8d8001a3b2b1061d6b3f17cd58d8506753f82145947c3d0bb00d1f9227"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := LoadCertificates(filepath.Join(dir, "certificates", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got := CertificateID(tc.role, tc.purpose, cs[0])
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !strings.Contains(string(msg), `Id="`+got+`"`) {
				t.Fatalf("%s does not occur in the message", got)
			}
		})
	}
}

func TestIdentityCheck(t *testing.T) {
	sig, ciph := loadKP(t, "mailbox-signature"), loadKP(t, "mailbox-cipher")
	weak := loadKP(t, "peer-rsa2048")
	mismatched := &KeyPair{Key: ciph.Key, Cert: sig.Cert}
	tests := []struct {
		name    string
		id      Identity
		at      time.Time
		wantErr error
	}{
		{name: "mailbox identity", id: Identity{Signature: sig, Cipher: ciph}, at: refTime},
		{name: "swapped key pairs", id: Identity{Signature: ciph, Cipher: sig}, at: refTime, wantErr: ErrKeyUsage},
		{name: "rsa 2048 own key", id: Identity{Signature: weak, Cipher: ciph}, at: refTime, wantErr: ErrWeakKey},
		{name: "expired own certificate", id: Identity{Signature: sig, Cipher: ciph}, at: pkiNotAfter.Add(time.Hour), wantErr: ErrExpired},
		{name: "not yet valid own certificate", id: Identity{Signature: sig, Cipher: ciph}, at: pkiNotBefore.Add(-time.Hour), wantErr: ErrNotYetValid},
		{name: "key does not match certificate", id: Identity{Signature: mismatched, Cipher: ciph}, at: refTime, wantErr: ErrKeyMismatch},
		{name: "missing cipher key pair", id: Identity{Signature: sig}, at: refTime, wantErr: ErrNoCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.id.Check(tc.at)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	id := Identity{Signature: sig, Cipher: ciph}
	if got, want := id.ID("originator", PurposeCipher), CertificateID("originator", PurposeCipher, ciph.Cert); got != want || !strings.HasPrefix(got, "originator_cipher_") {
		t.Fatalf("ID = %s", got)
	}
	exp := id.Expiries(refTime)
	if len(exp) != 2 || exp[0].Purpose != PurposeSignature || exp[0].Days != 3501 || exp[1].Days != 3501 {
		t.Fatalf("expiries %+v", exp)
	}
}

func TestDaysUntilExpiry(t *testing.T) {
	c := loadCert(t, "mailbox-signature")
	tests := []struct {
		name string
		at   time.Time
		want int
	}{
		{"ten days before", c.NotAfter.Add(-10 * 24 * time.Hour), 10},
		{"one hour before", c.NotAfter.Add(-time.Hour), 0},
		{"at expiry", c.NotAfter, 0},
		{"one hour after", c.NotAfter.Add(time.Hour), -1},
		{"one day after", c.NotAfter.Add(24 * time.Hour), -1},
		{"reference time", refTime, 3501},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DaysUntilExpiry(c, tc.at); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// A password file that group or others can read is refused like a key
// file, naming the file; group access only when the caller allows it.
func TestReadSecretFileRefusesReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		mode       os.FileMode
		allowGroup bool
		wantErr    bool
	}{
		{0o600, false, false},
		{0o400, false, false},
		{0o640, false, true},
		{0o640, true, false},
		{0o644, true, true},
		{0o604, false, true},
	} {
		p := filepath.Join(dir, fmt.Sprintf("pw-%o-%v", c.mode, c.allowGroup))
		if err := os.WriteFile(p, []byte("geheim\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		data, err := ReadSecretFile(p, c.allowGroup)
		switch {
		case c.wantErr && (!errors.Is(err, ErrKeyFilePermissions) || !strings.Contains(err.Error(), "secret file "+p)):
			t.Errorf("mode %o allowGroup %v: err = %v, want ErrKeyFilePermissions naming the file", c.mode, c.allowGroup, err)
		case !c.wantErr && (err != nil || string(data) != "geheim\n"):
			t.Errorf("mode %o allowGroup %v: %q, %v", c.mode, c.allowGroup, data, err)
		}
	}
	if _, err := ReadSecretFile(dir, false); err == nil {
		t.Error("a directory was read as a secret file")
	}
}

func TestReadFileBound(t *testing.T) {
	dir := t.TempDir()
	if data, err := ReadFile(writeFile(t, dir, "max.pem", make([]byte, MaxKeystoreBytes), 0o644)); err != nil || len(data) != MaxKeystoreBytes {
		t.Errorf("a file of MaxKeystoreBytes: %d bytes, %v", len(data), err)
	}
	if _, err := ReadFile(writeFile(t, dir, "big.pem", make([]byte, MaxKeystoreBytes+1), 0o644)); !errors.Is(err, ErrBadKeystore) {
		t.Errorf("a file one byte larger: %v, want ErrBadKeystore", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "nope.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want os.ErrNotExist", err)
	}
}
