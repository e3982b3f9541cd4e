package docsig_test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/pdf"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

const contentsHex = 16384 // room for the CMS structure, hex digits

// signPDF signs a PDF the way signing software does: an incremental
// update adds a signature dictionary with a /ByteRange placeholder and a
// zero-filled /Contents, a signature field, and a catalog naming the
// field; the bytes around /Contents are signed (openssl cms, detached)
// and the signature's hex is written into /Contents.
func signPDF(t *testing.T, base []byte, s signer, subFilter string) []byte {
	t.Helper()
	f, err := pdf.Open(bytes.NewReader(base), int64(len(base)), pdf.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	root := f.Trailer()["Root"].(pdf.Ref)
	cat, err := f.Resolve(root)
	if err != nil {
		t.Fatal(err)
	}
	pages := cat.(pdf.Dict)["Pages"].(pdf.Ref)
	size, _ := f.Trailer().Int("Size")
	prev := startxref(t, base)

	var b bytes.Buffer
	b.Write(base)
	if base[len(base)-1] != '\n' {
		b.WriteByte('\n')
	}
	offs := map[int64]int{}
	sigNum, fieldNum := size, size+1
	offs[sigNum] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /%s /M (D:20261203093000+01'00') /ByteRange [0 %-10d %-10d %-10d] /Contents <%s> >>\nendobj\n",
		sigNum, subFilter, 0, 0, 0, strings.Repeat("0", contentsHex))
	offs[fieldNum] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /FT /Sig /T (Unterschrift) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 >>\nendobj\n", fieldNum, sigNum)
	offs[root.Num] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Catalog /Pages %d 0 R /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>\nendobj\n", root.Num, pages.Num, fieldNum)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n%d 2\n%010d 00000 n \n%010d 00000 n \n", root.Num, offs[root.Num], sigNum, offs[sigNum], offs[fieldNum])
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size+2, root.Num, prev, xref)

	out := b.Bytes()
	start := int64(bytes.Index(out, []byte("/Contents <")) + len("/Contents "))
	end := start + contentsHex + 2
	br := fmt.Sprintf("[0 %-10d %-10d %-10d]", start, end, int64(len(out))-end)
	i := bytes.Index(out, []byte("/ByteRange ["))
	copy(out[i+len("/ByteRange "):], br)
	signed := append(bytes.Clone(out[:start]), out[end:]...)
	sig := sign(t, signed, s)
	h := hex.EncodeToString(sig)
	if len(h) > contentsHex {
		t.Fatalf("signature of %d bytes does not fit", len(sig))
	}
	copy(out[start+1:], h)
	return out
}

func startxref(t *testing.T, data []byte) int64 {
	i := bytes.LastIndex(data, []byte("startxref"))
	var n int64
	if _, err := fmt.Sscan(string(data[i+len("startxref"):]), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func verifyPDF(t *testing.T, v *docsig.Verifier, data []byte) []docsig.Result {
	t.Helper()
	rs, err := v.VerifyPDF(ctx, "Klage.pdf", bytes.NewReader(data), int64(len(data)), pdf.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPDFSignatureValid(t *testing.T) {
	v := verifier(t)
	for _, base := range []string{"plain_gs.pdf", "plain_objstm.pdf", "scan_img2pdf.pdf"} {
		for _, sub := range []string{"adbe.pkcs7.detached", "ETSI.CAdES.detached"} {
			t.Run(base+" "+sub, func(t *testing.T) {
				signed := signPDF(t, certstest.Document(t, base), pkiSigner(t, "mailbox-signature"), sub)
				rs := verifyPDF(t, v, signed)
				if len(rs) != 1 {
					t.Fatalf("%d signatures", len(rs))
				}
				r := rs[0]
				if r.Err != nil || !r.WholeFile || r.Field != "Unterschrift" || r.Kind != docsig.KindPDF {
					t.Fatalf("result %+v", r)
				}
				if sc := r.SignatureCheck(); sc.Integrity != checkresult.OK || sc.CertValidity != checkresult.Valid || sc.Object != "Klage.pdf (Signaturfeld Unterschrift)" {
					t.Fatalf("check %+v", sc)
				}
				popplerAgrees(t, signed, true)
			})
		}
	}
	if rs := verifyPDF(t, v, certstest.Document(t, "plain_gs.pdf")); len(rs) != 0 {
		t.Fatalf("unsigned PDF: %v", rs)
	}
}

// popplerAgrees asks poppler's pdfsig, an independent verifier, whether
// the signature is intact (when pdfsig is installed).
func popplerAgrees(t *testing.T, data []byte, valid bool) {
	t.Helper()
	tool, err := exec.LookPath("pdfsig")
	if err != nil {
		return
	}
	p := filepath.Join(t.TempDir(), "s.pdf")
	write(t, p, data)
	out, _ := exec.Command(tool, p).CombinedOutput()
	if got := strings.Contains(string(out), "Signature Validation: Signature is Valid."); got != valid {
		t.Fatalf("pdfsig says valid=%v:\n%s", got, out)
	}
}

// A signed revision stays valid when the file grows after it, and the
// result says the signature does not cover the whole file.
func TestPDFChangedAfterSigning(t *testing.T) {
	v := verifier(t)
	signed := signPDF(t, certstest.Document(t, "plain_gs.pdf"), pkiSigner(t, "mailbox-signature"), "adbe.pkcs7.detached")
	prev := startxref(t, signed)
	f, _ := pdf.Open(bytes.NewReader(signed), int64(len(signed)), pdf.Limits{})
	size, _ := f.Trailer().Int("Size")
	var b bytes.Buffer
	b.Write(signed)
	off := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n(nachgetragen)\nendobj\n", size)
	x := b.Len()
	fmt.Fprintf(&b, "xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %v /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size, off, size+1, f.Trailer()["Root"], prev, x)
	rs := verifyPDF(t, v, b.Bytes())
	if len(rs) != 1 || rs[0].Err != nil || rs[0].WholeFile {
		t.Fatalf("results %+v", rs)
	}
	if d := rs[0].SignatureCheck().Detail; !strings.Contains(d, "frühere Fassung") {
		t.Fatalf("detail %q", d)
	}
}

func TestPDFSignatureTampering(t *testing.T) {
	v := verifier(t)
	good := pkiSigner(t, "mailbox-signature")
	signed := signPDF(t, certstest.Document(t, "plain_gs.pdf"), good, "adbe.pkcs7.detached")

	flipped := bytes.Clone(signed)
	flipped[10] ^= 1 // in the binary comment after the header: the file still parses
	if bytes.Equal(flipped, signed) {
		t.Fatal("nothing flipped")
	}
	wideRange := bytes.Clone(signed)
	i := bytes.Index(wideRange, []byte("/ByteRange [0 ")) + len("/ByteRange [0 ")
	var a, bb, c int64
	fmt.Sscan(string(wideRange[i:i+40]), &a, &bb, &c)
	copy(wideRange[i:], fmt.Sprintf("%-10d %-10d %-10d", a-10, bb, c)) // leaves 10 unsigned bytes before /Contents

	for _, tc := range []struct {
		name string
		data []byte
		want []error
	}{
		{"one signed byte changed", flipped, []error{docsig.ErrDigestMismatch}},
		{"byte range leaves bytes unsigned", wideRange, []error{docsig.ErrByteRange}},
		{"signed by an untrusted CA", signPDF(t, certstest.Document(t, "plain_gs.pdf"), issue(t, "unknown-root-ca", &x509.Certificate{}, true), "adbe.pkcs7.detached"), []error{docsig.ErrCertificate, certs.ErrNotTrusted}},
		{"expired certificate", signPDF(t, certstest.Document(t, "plain_gs.pdf"), issue(t, "intermediate-ca", expiredTmpl(), true), "adbe.pkcs7.detached"), []error{docsig.ErrCertificate, certs.ErrExpired}},
		{"sha-1 subfilter", bytes.Replace(signed, []byte("/adbe.pkcs7.detached"), []byte("/adbe.pkcs7.sha1\x20\x20\x20\x20"), 1), []error{docsig.ErrWeakAlgorithm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := verifyPDF(t, v, tc.data)
			if len(rs) != 1 {
				t.Fatalf("%d results", len(rs))
			}
			for _, w := range tc.want {
				if !errors.Is(rs[0].Err, w) {
					t.Fatalf("Err = %v, want %v", rs[0].Err, w)
				}
			}
		})
	}
	popplerAgrees(t, flipped, false)
}

func TestPDFEncryptedIsNotVerified(t *testing.T) {
	data := certstest.Document(t, "encrypted_aes256.pdf")
	if _, err := verifier(t).VerifyPDF(ctx, "x.pdf", bytes.NewReader(data), int64(len(data)), pdf.Limits{}); !errors.Is(err, docsig.ErrUnsupported) {
		t.Fatalf("err = %v", err)
	}
}
