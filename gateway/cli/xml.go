package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// cidFiles maps Content-IDs to the files given for cid: references with
// --part ID=FILE.
type cidFiles map[string]string

// parseCIDFiles reads --part ID=FILE options.
func parseCIDFiles(parts []string) (cidFiles, error) {
	files := cidFiles{}
	for _, p := range parts {
		id, file, ok := strings.Cut(p, "=")
		if !ok || id == "" || file == "" {
			return nil, fmt.Errorf("--part %q is not ID=FILE", p)
		}
		files[id] = file
	}
	return files, nil
}

// OpenPart streams the file given for cid:id.
func (p cidFiles) OpenPart(id string) (io.ReadCloser, error) {
	f, err := p.open(id)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (p cidFiles) open(id string) (*os.File, error) {
	path, ok := p[id]
	if !ok {
		return nil, fmt.Errorf("no --part given for cid:%s", id)
	}
	return os.Open(path)
}

func runXMLSign(env *Env, fs *flag.FlagSet, args []string) error {
	p12 := fs.String("p12", "", "PKCS#12 keystore `FILE` with the signature key")
	pwFile := fs.String("password-file", "", "read the keystore password from `FILE`")
	pwEnv := fs.String("password-env", "", "read the keystore password from environment variable `VAR`")
	keyFile := fs.String("key", "", "PEM private key `FILE` (mode 0600)")
	certFile := fs.String("cert", "", "PEM certificate `FILE` of --key")
	var refs, parts listFlag
	fs.Var(&refs, "ref", "sign the element with Id `ID` (or cid:ID for an attachment); repeatable")
	fs.Var(&parts, "part", "octets of attachment cid:ID in `ID=FILE`; repeatable")
	alg := fs.String("alg", "rsa-sha256", "signature algorithm: rsa-sha256, rsa-pss-sha256, rsa-sha512 or rsa-pss-sha512")
	into := fs.String("into", "", "place the signature in the element with Id `ID`")
	retrieval := fs.String("retrieval", "", "KeyInfo as RetrievalMethod to the certificate element with Id `ID`")
	out := fs.String("out", "", "write to `FILE` instead of stdout")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	if len(refs) == 0 {
		return usageErrorf(fs, "give at least one --ref")
	}
	method, err := xmlsec.ParseSignatureAlgorithm(*alg)
	if err != nil {
		return usageErrorf(fs, "--alg: %v", err)
	}
	partFiles, err := parseCIDFiles(parts)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	var kp *certs.KeyPair
	switch {
	case *p12 != "" && *keyFile == "" && *certFile == "":
		password, err := readSecret(env, *pwFile, *pwEnv)
		if err != nil {
			return usageErrorf(fs, "%v", err)
		}
		kp, err = certs.LoadPKCS12(*p12, password)
		if err != nil {
			return err
		}
	case *p12 == "" && *keyFile != "" && *certFile != "":
		if *pwFile != "" || *pwEnv != "" {
			return usageErrorf(fs, "a password is only used with --p12")
		}
		if kp, err = certs.LoadPEM(*keyFile, *certFile); err != nil {
			return err
		}
	default:
		return usageErrorf(fs, "give either --p12 (with --password-file or --password-env) or --key and --cert")
	}
	doc, err := xmlencReadDoc(fs.Arg(0))
	if err != nil {
		return err
	}
	var parent *etree.Element
	if *into != "" {
		if parent, err = xmlencByID(doc.Root(), *into); err != nil {
			return fmt.Errorf("--into: %v", err)
		}
	}
	uris := make([]string, len(refs))
	for i, r := range refs {
		if strings.HasPrefix(r, "cid:") {
			uris[i] = r
		} else {
			uris[i] = "#" + strings.TrimPrefix(r, "#")
		}
	}
	o := xmlsec.SignOptions{Key: kp.Key, Certificate: kp.Cert, Algorithm: method, Attachments: partFiles.OpenPart}
	if *retrieval != "" {
		o.RetrievalURI = "#" + strings.TrimPrefix(*retrieval, "#")
	}
	if _, err := xmlsec.Sign(doc, parent, uris, o); err != nil {
		return err
	}
	if err := xmlencWrite(env, *out, func(w io.Writer) error { return xmlsec.Serialize(w, doc) }); err != nil {
		return err
	}
	return nil
}

func runXMLVerify(env *Env, fs *flag.FlagSet, args []string) error {
	tf := addTrustFlags(fs, "require", "revocation check for CA-issued signers: require, prefer or off")
	var require, parts listFlag
	fs.Var(&require, "require", "the element with Id `ID` (or cid:ID) must be signed; repeatable")
	fs.Var(&parts, "part", "octets of attachment cid:ID in `ID=FILE`; repeatable")
	sigIn := fs.String("signature-in", "", "verify the ds:Signature inside the element with Id `ID`")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	v, err := tf.validator(fs)
	if err != nil {
		return err
	}
	partFiles, err := parseCIDFiles(parts)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	doc, err := xmlencReadDoc(fs.Arg(0))
	if err != nil {
		return err
	}
	sig, err := xmlsigFind(doc, *sigIn)
	if err != nil {
		return err
	}
	p := xmlsec.VerifyPolicy{Keys: xmlsec.ValidatorSelector{V: v}, Attachments: partFiles.OpenPart}
	for _, r := range require {
		if strings.HasPrefix(r, "cid:") {
			p.Required = append(p.Required, r)
		} else {
			p.Required = append(p.Required, "#"+strings.TrimPrefix(r, "#"))
		}
	}
	verified, err := xmlsec.Verify(context.Background(), doc, sig, p)
	if err != nil {
		return fmt.Errorf("invalid: %v", err)
	}
	fmt.Fprintf(env.Stdout, "valid: signed by %q with %s\n", verified.Signer.Subject.String(), verified.SignatureMethod)
	for _, r := range verified.References {
		fmt.Fprintf(env.Stdout, "  %s %s\n", r.URI, r.DigestMethod)
	}
	if verified.Certificate != nil {
		for _, w := range verified.Certificate.Warnings {
			fmt.Fprintf(env.Stdout, "  warning: %s\n", w)
		}
	}
	return nil
}

// xmlsigFind returns the first ds:Signature in document order, or the one
// directly inside the element with Id in.
func xmlsigFind(doc *etree.Document, in string) (*etree.Element, error) {
	var found *etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		if found != nil {
			return
		}
		if el.Tag == "Signature" && el.NamespaceURI() == xmlsec.NamespaceDSig {
			found = el
			return
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	root := doc.Root()
	if in != "" {
		holder, err := xmlencByID(root, in)
		if err != nil {
			return nil, fmt.Errorf("--signature-in: %w", err)
		}
		for _, c := range holder.ChildElements() {
			walk(c)
		}
	} else {
		walk(root)
	}
	if found == nil {
		return nil, errors.New("no ds:Signature found")
	}
	return found, nil
}

func runXMLC14N(env *Env, fs *flag.FlagSet, args []string) error {
	exclusive := fs.Bool("exclusive", false, "exclusive canonicalization")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	lim := xmlsec.DefaultLimits()
	lim.AllowProcInst = true
	doc, err := xmlsec.Parse(f, lim)
	if err != nil {
		return fmt.Errorf("%s: %v", fs.Arg(0), err)
	}
	method := xmlsec.C14N10
	if *exclusive {
		method = xmlsec.ExcC14N10
	}
	out, err := xmlsec.CanonicalizeDocument(doc, xmlsec.C14NOptions{Method: method})
	if err != nil {
		return err
	}
	if _, err := env.Stdout.Write(out); err != nil {
		return err
	}
	return nil
}
