package docsig

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/pdf"
)

// pdfSig is a signature value dictionary found in a PDF.
type pdfSig struct {
	ref   pdf.Ref
	dict  pdf.Dict
	field string
}

// VerifyPDF checks every signature embedded in the PDF r (size bytes)
// named document: each signature dictionary with /ByteRange and /Contents
// that the cross-reference lists. A PDF without signatures gives none;
// the error is for a PDF that cannot be read (pdf.ErrNotPDF, ErrXref,
// ErrLimit...), encrypted ones included.
func (v *Verifier) VerifyPDF(ctx context.Context, document string, r io.ReaderAt, size int64, lim pdf.Limits) ([]Result, error) {
	f, err := pdf.Open(r, size, lim)
	if err != nil {
		return nil, err
	}
	if f.Encrypted() {
		return nil, fmt.Errorf("%w: encrypted PDF", ErrUnsupported)
	}
	sigs, err := findSignatures(f)
	if err != nil {
		return nil, err
	}
	if len(sigs) > v.lim.MaxSignatures {
		return nil, fmt.Errorf("%w: %d signatures in one PDF", ErrTooLarge, len(sigs))
	}
	var out []Result
	for _, s := range sigs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, v.verifyPDFSig(ctx, document, f, r, s))
	}
	return out, nil
}

// findSignatures collects signature dictionaries, named by the field
// that points at them.
func findSignatures(f *pdf.File) ([]pdfSig, error) {
	var sigs []pdfSig
	fields := map[pdf.Ref]string{}
	err := f.Each(func(ref pdf.Ref, o pdf.Object) error {
		d, ok := o.(pdf.Dict)
		if !ok {
			return nil
		}
		t, _ := d["T"].(pdf.String)
		switch val := d["V"].(type) {
		case pdf.Ref:
			if ft, _ := d.Name("FT"); ft == "Sig" {
				fields[val] = string(t.Bytes)
			}
		case pdf.Dict:
			if isSigDict(val) {
				sigs = append(sigs, pdfSig{ref: ref, dict: val, field: string(t.Bytes)})
			}
		}
		if isSigDict(d) {
			sigs = append(sigs, pdfSig{ref: ref, dict: d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range sigs {
		if sigs[i].field == "" {
			sigs[i].field = fields[sigs[i].ref]
		}
	}
	sort.SliceStable(sigs, func(i, j int) bool { return sigs[i].ref.Num < sigs[j].ref.Num })
	return sigs, nil
}

func isSigDict(d pdf.Dict) bool {
	_, br := d["ByteRange"].(pdf.Array)
	_, ct := d["Contents"].(pdf.String)
	return br && ct
}

func (v *Verifier) verifyPDFSig(ctx context.Context, document string, f *pdf.File, r io.ReaderAt, s pdfSig) Result {
	res := Result{Document: document, Kind: KindPDF, Field: s.field}
	claimed := pdfDate(s.dict)
	res.SigningTime = claimed
	sub, _ := s.dict.Name("SubFilter")
	switch sub {
	case "adbe.pkcs7.detached", "ETSI.CAdES.detached":
	case "adbe.pkcs7.sha1":
		return v.finish(res, fmt.Errorf("%w: /SubFilter adbe.pkcs7.sha1 signs a SHA-1 digest", ErrWeakAlgorithm))
	default:
		return v.finish(res, fmt.Errorf("%w: /SubFilter %q", ErrUnsupported, sub))
	}
	contents := s.dict["Contents"].(pdf.String)
	br := s.dict["ByteRange"].(pdf.Array)
	var n [4]int64
	if len(br) != 4 {
		return v.finish(res, fmt.Errorf("%w: /ByteRange has %d numbers, not 4", ErrByteRange, len(br)))
	}
	for i, o := range br {
		x, ok := o.(int64)
		if !ok || x < 0 {
			return v.finish(res, fmt.Errorf("%w: /ByteRange holds %v", ErrByteRange, o))
		}
		n[i] = x
	}
	// The signed bytes are everything from the start of the file to the
	// end of the revision, except exactly the /Contents string.
	switch {
	case contents.Start < 0:
		return v.finish(res, fmt.Errorf("%w: signature dictionary inside an object stream", ErrByteRange))
	case n[0] != 0 || n[1] != contents.Start || n[2] != contents.End || n[2]+n[3] > f.Size():
		return v.finish(res, fmt.Errorf("%w: /ByteRange [%d %d %d %d] does not exclude exactly /Contents at %d..%d of %d bytes",
			ErrByteRange, n[0], n[1], n[2], n[3], contents.Start, contents.End, f.Size()))
	}
	res.WholeFile = n[2]+n[3] == f.Size()
	if int64(len(contents.Bytes)) > v.lim.MaxSignatureBytes {
		return v.finish(res, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(contents.Bytes)))
	}
	cms, err := Parse(contents.Bytes)
	if err != nil {
		return v.finish(res, err)
	}
	if len(cms.Signers) != 1 {
		return v.finish(res, fmt.Errorf("%w: %d signers in one PDF signature", ErrUnsupported, len(cms.Signers)))
	}
	signed := io.MultiReader(io.NewSectionReader(r, n[0], n[1]), io.NewSectionReader(r, n[2], n[3]))
	digests, err := digestAll(cms, signed)
	if err != nil {
		return v.finish(res, err)
	}
	out := v.verifySigner(ctx, res, cms, &cms.Signers[0], digests, claimed)
	return out
}

// pdfDate reads the signature dictionary's /M (D:YYYYMMDDHHmmSS+HH'mm').
func pdfDate(d pdf.Dict) time.Time {
	s, ok := d["M"].(pdf.String)
	if !ok {
		return time.Time{}
	}
	b := string(s.Bytes)
	if len(b) >= 2 && b[:2] == "D:" {
		b = b[2:]
	}
	num := func(i, w int, def int) int {
		if len(b) < i+w {
			return def
		}
		v, err := strconv.Atoi(b[i : i+w])
		if err != nil {
			return def
		}
		return v
	}
	if len(b) < 4 {
		return time.Time{}
	}
	loc := time.UTC
	if len(b) > 14 && (b[14] == '+' || b[14] == '-') {
		off := (num(15, 2, 0)*60 + num(18, 2, 0)) * 60
		if b[14] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(num(0, 4, 0), time.Month(num(4, 2, 1)), num(6, 2, 1), num(8, 2, 0), num(10, 2, 0), num(12, 2, 0), 0, loc).UTC()
}
