package pdf

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

func open(data []byte, lim Limits) (*File, error) {
	return Open(bytes.NewReader(data), int64(len(data)), lim)
}

// Every PDF that real software wrote (ghostscript, qpdf with object
// streams and linearized, img2pdf) opens, and every object it lists parses.
func TestRealProducersParse(t *testing.T) {
	for _, name := range []string{"plain_gs.pdf", "plain_objstm.pdf", "plain_linearized.pdf", "scan_img2pdf.pdf",
		"attachment.pdf", "javascript_objstm.pdf", "encrypted_aes256.pdf"} {
		t.Run(name, func(t *testing.T) {
			f, err := open(certstest.Document(t, name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := f.Each(func(Ref, Object) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n == 0 || n != f.Len() {
				t.Fatalf("Each visited %d of %d objects", n, f.Len())
			}
			root, err := f.Resolve(f.Trailer()["Root"])
			if err != nil {
				t.Fatal(err)
			}
			if ty, _ := root.(Dict).Name("Type"); ty != "Catalog" {
				t.Fatalf("root is %v", root)
			}
		})
	}
}

func TestObjectStreamMembersAreVisited(t *testing.T) {
	f, err := open(certstest.Document(t, "javascript_objstm.pdf"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	_ = f.Each(func(_ Ref, o Object) error {
		if d, ok := o.(Dict); ok && d.Has("JS") {
			found = true
		}
		return nil
	})
	if !found {
		t.Fatal("the /JS dictionary inside the object stream was not visited")
	}
}

const tiny = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"

// withXref appends a classic cross-reference for objects at the given
// offsets and a trailer with extra entries.
func withXref(body string, extra string) string {
	var offs []int
	for i := 1; ; i++ {
		j := strings.Index(body, itoa(i)+" 0 obj")
		if j < 0 {
			break
		}
		offs = append(offs, j)
	}
	var b strings.Builder
	b.WriteString(body)
	x := b.Len()
	b.WriteString("xref\n0 " + itoa(len(offs)+1) + "\n0000000000 65535 f \n")
	for _, o := range offs {
		s := itoa(o)
		b.WriteString(strings.Repeat("0", 10-len(s)) + s + " 00000 n \n")
	}
	b.WriteString("trailer << /Size " + itoa(len(offs)+1) + " /Root 1 0 R " + extra + " >>\nstartxref\n" + itoa(x) + "\n%%EOF\n")
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestHandWrittenMinimal(t *testing.T) {
	if _, err := open([]byte(withXref(tiny, "")), Limits{}); err != nil {
		t.Fatal(err)
	}
}

func TestThreats(t *testing.T) {
	good := withXref(tiny, "")
	for _, tc := range []struct {
		name string
		data string
		lim  Limits
		want error
	}{
		{"text renamed to pdf", "Sehr geehrte Damen und Herren", Limits{}, ErrNotPDF},
		{"header not at the start", " " + good, Limits{}, ErrNotPDF},
		{"no startxref", tiny, Limits{}, ErrXref},
		{"startxref beyond the file", tiny + "startxref\n999999\n%%EOF", Limits{}, ErrXref},
		{"prev loops to itself", withXref(tiny, "/Prev "+itoa(len(tiny))), Limits{}, ErrXref},
		{"xref offset points at another object", strings.Replace(good, "0000000009 00000 n", "0000000056 00000 n", 1), Limits{}, ErrXref},
		{"deep nesting", withXref("%PDF-1.4\n1 0 obj << /Type /Catalog /X "+strings.Repeat("[", 100)+strings.Repeat("]", 100)+" >> endobj\n", ""), Limits{MaxDepth: 32}, ErrLimit},
		{"stream length past the end", withXref("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n2 0 obj << /Length 99999 >> stream\nabc\nendstream endobj\n", ""), Limits{}, ErrSyntax},
		{"too many objects", good, Limits{MaxObjects: 2}, ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := open([]byte(tc.data), tc.lim)
			if err == nil {
				err = f.Each(func(Ref, Object) error { return nil })
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// A name written with #-escapes is the name: /J#53 is /JS.
func TestEscapedNameDecodes(t *testing.T) {
	f, err := open([]byte(withXref("%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScri#70t /J#53 (x) >> >> endobj\n", "")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Resolve(f.Trailer()["Root"])
	oa := root.(Dict)["OpenAction"].(Dict)
	if s, _ := oa.Name("S"); s != "JavaScript" || !oa.Has("JS") {
		t.Fatalf("OpenAction = %v", oa)
	}
}

func TestStringOffsets(t *testing.T) {
	body := "%PDF-1.4\n1 0 obj << /Type /Catalog /C <0a0b> >> endobj\n"
	f, err := open([]byte(withXref(body, "")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Resolve(f.Trailer()["Root"])
	s := root.(Dict)["C"].(String)
	if got := body[s.Start:s.End]; got != "<0a0b>" || !bytes.Equal(s.Bytes, []byte{10, 11}) {
		t.Fatalf("string at %d..%d = %q, bytes %x", s.Start, s.End, got, s.Bytes)
	}
}

// FuzzOpen: no input makes the parser panic or exceed its limits.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"plain_gs.pdf", "plain_objstm.pdf", "plain_linearized.pdf", "scan_img2pdf.pdf", "javascript_objstm.pdf"} {
		f.Add(certstest.Document(f, name))
	}
	f.Add([]byte(withXref(tiny, "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxObjects: 1000, MaxObjectBytes: 1 << 16, MaxStreamBytes: 1 << 20, MaxDecodedBytes: 4 << 20}
		pf, err := open(data, lim)
		if err != nil {
			return
		}
		_ = pf.Each(func(_ Ref, o Object) error {
			if s, ok := o.(*Stream); ok {
				_, _ = pf.Decode(s)
			}
			return nil
		})
	})
}
