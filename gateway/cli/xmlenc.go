package cli

import (
	"bufio"
	"crypto"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

func runXMLEncrypt(env *Env, fs *flag.FlagSet, args []string) error {
	var certFiles listFlag
	fs.Var(&certFiles, "cert", "recipient cipher certificate `FILE` (PEM or DER); repeat for several readers")
	elementID := fs.String("element", "", "encrypt the element whose Id attribute is `ID` instead of the root")
	out := fs.String("out", "", "write to `FILE` instead of stdout")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	if len(certFiles) == 0 {
		return usageErrorf(fs, "give at least one --cert")
	}
	enc := &xmlenc.Encrypter{DeclareNamespaces: true}
	for _, f := range certFiles {
		cs, err := certs.LoadCertificates(f)
		if err != nil {
			return err
		}
		enc.Recipients = append(enc.Recipients, xmlenc.Recipient{Cert: cs[0]})
	}
	doc, err := xmlencReadDoc(fs.Arg(0))
	if err != nil {
		return err
	}
	target := doc.Root()
	if *elementID != "" {
		if target, err = xmlencByID(doc.Root(), *elementID); err != nil {
			return err
		}
	}
	if _, err := enc.EncryptElement(target); err != nil {
		return err
	}
	err = xmlencWrite(env, *out, func(w io.Writer) error { return xmlsec.Serialize(w, doc) })
	if err != nil {
		return err
	}
	return nil
}

func runXMLDecrypt(env *Env, fs *flag.FlagSet, args []string) error {
	p12 := fs.String("p12", "", "PKCS#12 keystore `FILE` holding the cipher key")
	pwFile := fs.String("password-file", "", "read the keystore password from `FILE`")
	pwEnv := fs.String("password-env", "", "read the keystore password from environment variable `VAR`")
	keyFile := fs.String("key", "", "unencrypted PEM private key `FILE` (mode 0600)")
	var parts listFlag
	fs.Var(&parts, "part", "ciphertext of MIME part cid:ID in `ID=FILE`; repeatable")
	out := fs.String("out", "", "write to `FILE` instead of stdout")
	if err := parseArgs(env, fs, args, 1, "exactly one FILE"); err != nil {
		return err
	}
	if (*p12 == "") == (*keyFile == "") {
		return usageErrorf(fs, "give either --p12 or --key")
	}
	partFiles, err := parseCIDFiles(parts)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	key, err := xmlencLoadKey(env, *p12, *pwFile, *pwEnv, *keyFile)
	if errors.Is(err, errXMLEncUsage) {
		return usageErrorf(fs, "%v", err)
	}
	if err != nil {
		return err
	}
	doc, err := xmlencReadDoc(fs.Arg(0))
	if err != nil {
		return err
	}
	// Parts are read twice in place only when the output goes to a file
	// renamed into place after success; for stdout they are spooled, so a
	// part changed by someone else mid-way cannot leak unauthenticated
	// plaintext.
	d := &xmlenc.Decrypter{Key: key, Parts: partFiles}
	if *out != "" {
		d.Parts, d.SpoolDir = cidFilesInPlace(partFiles), filepath.Dir(*out)
	}
	var typed, untyped []*etree.Element
	for _, ed := range doc.FindElements("//EncryptedData") {
		if ed.NamespaceURI() != xmlenc.NSXenc {
			continue
		}
		switch ed.SelectAttrValue("Type", "") {
		case xmlenc.TypeElement, xmlenc.TypeContent:
			typed = append(typed, ed)
		default:
			untyped = append(untyped, ed)
		}
	}
	switch {
	case len(typed) > 0:
		for _, ed := range typed {
			if err := d.DecryptElement(ed); err != nil {
				return err
			}
		}
		err = xmlencWrite(env, *out, func(w io.Writer) error { return xmlsec.Serialize(w, doc) })
	case len(untyped) == 1:
		err = xmlencWrite(env, *out, func(w io.Writer) error {
			_, err := d.DecryptTo(w, untyped[0])
			return err
		})
	case len(untyped) == 0:
		return fmt.Errorf("%s holds no xenc:EncryptedData", fs.Arg(0))
	default:
		return fmt.Errorf("%s holds %d EncryptedData without Type; nothing says how to combine them", fs.Arg(0), len(untyped))
	}
	if err != nil {
		return err
	}
	return nil
}

var errXMLEncUsage = errors.New("usage")

func xmlencLoadKey(env *Env, p12, pwFile, pwEnv, keyFile string) (crypto.Decrypter, error) {
	var signer crypto.Signer
	if p12 != "" {
		password, err := readSecret(env, pwFile, pwEnv)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errXMLEncUsage, err)
		}
		kp, err := certs.LoadPKCS12(p12, password)
		if err != nil {
			return nil, err
		}
		signer = kp.Key
	} else {
		if pwFile != "" || pwEnv != "" {
			return nil, fmt.Errorf("%w: a password is only used with --p12", errXMLEncUsage)
		}
		fi, err := os.Stat(keyFile)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s is readable by group or others (mode %04o); chmod 600 it", keyFile, uint32(fi.Mode().Perm()))
		}
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, err
		}
		if signer, err = certs.ParsePrivateKeyPEM(data); err != nil {
			return nil, err
		}
	}
	dec, ok := signer.(crypto.Decrypter)
	if _, isRSA := signer.Public().(*rsa.PublicKey); !ok || !isRSA {
		return nil, errors.New("the cipher key must be an RSA key")
	}
	return dec, nil
}

func xmlencReadDoc(path string) (*etree.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := xmlsec.Parse(f, xmlsec.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// xmlencByID finds the one element with attribute Id="id".
func xmlencByID(root *etree.Element, id string) (*etree.Element, error) {
	var found []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if e.SelectAttrValue("Id", "") == id {
			found = append(found, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	if len(found) != 1 {
		return nil, fmt.Errorf("%d elements with Id %q, want exactly one", len(found), id)
	}
	return found[0], nil
}

// cidFilesInPlace offers the regular files of cid: parts as io.ReaderAt
// (read in place) instead of as streams.
type cidFilesInPlace cidFiles

func (p cidFilesInPlace) OpenPart(id string) (io.ReadCloser, error) {
	f, err := cidFiles(p).open(id)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return f, nil // read once, spooled
	}
	return struct {
		*io.SectionReader
		io.Closer
	}{io.NewSectionReader(f, 0, st.Size()), f}, nil
}

// xmlencWrite runs write against stdout, or against a temporary file beside
// out that is fsync'd and renamed into place only when write succeeded.
func xmlencWrite(env *Env, out string, write func(io.Writer) error) error {
	if out == "" {
		bw := bufio.NewWriter(env.Stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	return durable.Write(out, 0o600, write)
}
