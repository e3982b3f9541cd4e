package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// certsInfo is what `certs inspect` shows of one certificate.
type certsInfo struct {
	Role        string    `json:"role"` // leaf or ca
	PrivateKey  bool      `json:"private_key"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	Key         string    `json:"key"`
	SigAlg      string    `json:"signature_algorithm"`
	KeyUsage    []string  `json:"key_usage"`
	ExtKeyUsage []string  `json:"ext_key_usage,omitempty"`
	IsCA        bool      `json:"ca"`
	SHA256      string    `json:"sha256"`
	OSCIIDs     []string  `json:"osci_ids,omitempty"`
}

func runCertsInspect(env *Env, fs *flag.FlagSet, args []string) error {
	pwFile := fs.String("password-file", "", "read the keystore password from `FILE`")
	pwEnv := fs.String("password-env", "", "read the keystore password from environment variable `VAR`")
	asJSON := fs.Bool("json", false, "print JSON")
	role := fs.String("role", "originator", "OSCI role for the certificate Id (originator, addressee, intermed, readerN, authorN)")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	if *role == "" || strings.ContainsAny(*role, " _\t") {
		return usageErrorf(fs, "--role %q is not an OSCI role name", *role)
	}
	password, err := readSecret(env, *pwFile, *pwEnv)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	path := fs.Arg(0)
	data, err := certs.ReadFile(path)
	if err != nil {
		return err
	}
	list, hasKey, err := certsFromFile(data, password)
	if errors.Is(err, certs.ErrBadPassword) && *pwFile == "" && *pwEnv == "" {
		return usageErrorf(fs, "%s is a protected keystore: give --password-file or --password-env", path)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if hasKey {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(env.Stderr, "warning: %s holds a private key and is readable by group or others (mode %04o); chmod 600 it\n", path, uint32(fi.Mode().Perm()))
		}
	}
	infos := make([]certsInfo, len(list))
	for i, c := range list {
		infos[i] = certsDescribe(c, *role, i == 0 && hasKey)
		if i > 0 || c.IsCA {
			infos[i].Role = "ca"
		}
	}
	if *asJSON {
		return printJSON(env.Stdout, infos)
	}
	for i, in := range infos {
		if i > 0 {
			fmt.Fprintln(env.Stdout)
		}
		certsPrintInfo(env.Stdout, i+1, len(infos), in)
	}
	return nil
}

// certsFromFile reads PEM certificates, a DER certificate or a PKCS#12
// keystore. For a keystore the leaf comes first and hasKey is true.
func certsFromFile(data []byte, password string) (list []*x509.Certificate, hasKey bool, err error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		list, err = certs.ParseCertificates(data)
		return list, false, err
	}
	if c, derr := x509.ParseCertificate(data); derr == nil {
		return []*x509.Certificate{c}, false, nil
	}
	kp, err := certs.LoadPKCS12Data(data, password)
	if err != nil {
		if errors.Is(err, certs.ErrBadKeystore) {
			return nil, false, fmt.Errorf("neither PEM, DER nor PKCS#12: %w", err)
		}
		return nil, false, err
	}
	return append([]*x509.Certificate{kp.Cert}, kp.Chain...), true, nil
}

func certsDescribe(c *x509.Certificate, role string, hasKey bool) certsInfo {
	in := certsInfo{
		Role: "leaf", PrivateKey: hasKey,
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		Key: certs.KeyDescription(c), SigAlg: c.SignatureAlgorithm.String(),
		KeyUsage: certs.KeyUsageNames(c.KeyUsage), ExtKeyUsage: certs.ExtKeyUsageNames(c),
		IsCA: c.BasicConstraintsValid && c.IsCA, SHA256: certs.Fingerprint(c),
	}
	if in.IsCA {
		return in
	}
	sig := certs.CheckKeyUsage(c, certs.PurposeSignature) == nil
	ciph := certs.CheckKeyUsage(c, certs.PurposeCipher) == nil
	if !sig && !ciph {
		sig, ciph = true, true // no fitting usage: show both, the reader decides
	}
	if ciph {
		in.OSCIIDs = append(in.OSCIIDs, certs.CertificateID(role, certs.PurposeCipher, c))
	}
	if sig {
		in.OSCIIDs = append(in.OSCIIDs, certs.CertificateID(role, certs.PurposeSignature, c))
	}
	return in
}

func certsPrintInfo(w io.Writer, n, total int, in certsInfo) {
	what := in.Role
	if in.PrivateKey {
		what += ", private key present"
	}
	fmt.Fprintf(w, "certificate %d of %d (%s)\n", n, total, what)
	row := func(k, v string) { fmt.Fprintf(w, "  %-15s %s\n", k+":", v) }
	row("subject", in.Subject)
	row("issuer", in.Issuer)
	row("serial", in.Serial)
	row("not before", in.NotBefore.Format(time.RFC3339))
	row("not after", in.NotAfter.Format(time.RFC3339))
	row("key", in.Key)
	row("signature alg", in.SigAlg)
	row("key usage", certsJoinOr(in.KeyUsage, "none"))
	row("ext key usage", certsJoinOr(in.ExtKeyUsage, "none"))
	row("ca", fmt.Sprint(in.IsCA))
	row("sha256", in.SHA256)
	for _, id := range in.OSCIIDs {
		row("osci id", id)
	}
}

func certsJoinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}

func runCertsVerify(env *Env, fs *flag.FlagSet, args []string) error {
	purposeFlag := fs.String("purpose", "", "signature or cipher (required)")
	tf := addTrustFlags(fs, "default", "off, prefer (fail-open), require (fail-closed), or default (require for signature, prefer for cipher)")
	asJSON := fs.Bool("json", false, "print the verification result as JSON")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	if *purposeFlag == "" {
		return usageErrorf(fs, "--purpose is required (signature or cipher)")
	}
	purpose, err := certs.ParsePurpose(*purposeFlag)
	if err != nil {
		return usageErrorf(fs, "--purpose: %v", err)
	}
	v, err := tf.validator(fs)
	if err != nil {
		return err
	}
	data, err := certs.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	list, err := certs.ParseCertificates(data)
	if err != nil {
		return fmt.Errorf("%s: %v", fs.Arg(0), err)
	}
	res, verr := v.Validate(context.Background(), list[0], list[1:], purpose)
	if *asJSON {
		if err := printJSON(env.Stdout, res); err != nil {
			return err
		}
	}
	if verr != nil {
		return fmt.Errorf("%s: %v", fs.Arg(0), verr)
	}
	if !*asJSON {
		how := "chains to " + res.Chain[len(res.Chain)-1]
		if res.Pinned {
			how = "pinned"
		}
		fmt.Fprintf(env.Stdout, "valid for %s: %s (%s)\n", purpose, res.Subject, how)
		for _, c := range res.Checks {
			fmt.Fprintf(env.Stdout, "  %-11s %-8s %s\n", c.Name, c.Outcome, c.Detail)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(env.Stdout, "warning: %s\n", w)
		}
	}
	return nil
}

// trustFlags are the options of the verifying commands: which
// certificates are trusted, how revocation is checked, and when.
type trustFlags struct {
	trust, pins    listFlag
	at, revocation *string
}

func addTrustFlags(fs *flag.FlagSet, revocation, revocationHelp string) *trustFlags {
	f := &trustFlags{}
	fs.Var(&f.trust, "trust", "trusted CA certificates: PEM/DER `FILE` or directory (repeatable)")
	fs.Var(&f.pins, "pin", "pinned certificates: PEM/DER `FILE` or directory (repeatable)")
	f.at = fs.String("at", "", "validate at this RFC 3339 `TIME` instead of now")
	f.revocation = fs.String("revocation", revocation, revocationHelp)
	return f
}

// validator checks the options and makes the validator they describe.
func (f *trustFlags) validator(fs *flag.FlagSet) (*certs.Validator, error) {
	mode, err := certs.ParseRevocationMode(*f.revocation)
	if err != nil {
		return nil, usageErrorf(fs, "--revocation: %v", err)
	}
	now, err := clockFlag(*f.at)
	if err != nil {
		return nil, usageErrorf(fs, "--at: %v", err)
	}
	if len(f.trust) == 0 && len(f.pins) == 0 {
		return nil, usageErrorf(fs, "nothing is trusted: give --trust or --pin")
	}
	store := certs.NewTrustStore()
	for _, p := range f.trust {
		if err := store.LoadCAs(p); err != nil {
			return nil, fmt.Errorf("--trust %s: %v", p, err)
		}
	}
	for _, p := range f.pins {
		if err := store.LoadPins(p); err != nil {
			return nil, fmt.Errorf("--pin %s: %v", p, err)
		}
	}
	v := &certs.Validator{Trust: store, Now: now, Policy: certs.Policy{SignatureRevocation: mode, CipherRevocation: mode}}
	if mode != certs.RevocationOff {
		v.Revocation = &certs.RevocationChecker{}
	}
	return v, nil
}

// clockFlag is the clock an --at flag asks for: a fixed RFC 3339 time, or
// time.Now when the flag is empty.
func clockFlag(v string) (func() time.Time, error) {
	if v == "" {
		return time.Now, nil
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, err
	}
	return func() time.Time { return at }, nil
}
