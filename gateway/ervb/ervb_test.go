package ervb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
)

// mem is a File whose content is not a file on disk (it is spooled).
func mem(name string, data []byte) ervb.File {
	return ervb.File{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func disk(t *testing.T, name, sampleName string) ervb.File {
	t.Helper()
	return ervb.OSFile(name, sample(t, sampleName))
}

func check(t *testing.T, files ...ervb.File) ervb.Findings {
	t.Helper()
	c := ervb.Checker{TempDir: t.TempDir()}
	fs, err := c.Check(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// rules returns "severity:rule" of every finding.
func rules(fs ervb.Findings) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+":"+string(f.Rule))
	}
	return out
}

func docx() []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create("word/document.xml")
	w.Write([]byte("<w:document/>"))
	z.Close()
	return b.Bytes()
}

// Real files from real producers pass without findings.
func TestAcceptsWhatCourtsAccept(t *testing.T) {
	for _, s := range []string{"plain_gs.pdf", "plain_objstm.pdf", "plain_linearized.pdf", "scan_img2pdf.pdf", "scan_g4.tif", "scan_bigendian.tiff"} {
		t.Run(s, func(t *testing.T) {
			name := "Schriftsatz_1." + s[strings.LastIndexByte(s, '.')+1:]
			if fs := check(t, disk(t, name, s)); len(fs) != 0 {
				t.Fatalf("findings: %v", fs)
			}
			// The same through a stream that is not a file (spooled).
			if fs := check(t, mem(name, certstest.Document(t, s))); len(fs) != 0 {
				t.Fatalf("findings (spooled): %v", fs)
			}
		})
	}
	if fs := check(t, mem(ervb.RecordName, []byte("<?xml version=\"1.0\"?><x/>"))); len(fs) != 0 {
		t.Fatalf("record: %v", fs)
	}
}

func TestRefusesWhatTheERVBForbids(t *testing.T) {
	for _, tc := range []struct {
		name string
		file ervb.File
		want []string
	}{
		{"text file renamed to pdf", mem("Fake.pdf", []byte("Sehr geehrte Damen und Herren,\nanbei die Klage.\n")), []string{"error:content-mismatch"}},
		{"random bytes named pdf", mem("Zufall.pdf", bytes.Repeat([]byte{0x93, 0x11, 0xfe}, 400)), []string{"error:content-mismatch"}},
		{"empty pdf", mem("Leer.pdf", nil), []string{"error:content-mismatch"}},
		{"word document", mem("Klage.docx", docx()), []string{"error:file-type"}},
		{"word document renamed to pdf", mem("Klage.pdf", docx()), []string{"error:content-mismatch"}},
		{"zip archive", mem("Anlagen.zip", docx()), []string{"error:file-type"}},
		{"windows executable", mem("Tool.exe", append([]byte("MZ\x90\x00"), make([]byte, 100)...)), []string{"error:file-type"}},
		{"linux executable renamed to tiff", mem("Bild.tif", append([]byte("\x7fELF"), make([]byte, 100)...)), []string{"error:content-mismatch"}},
		{"text renamed to txt", mem("Notiz.txt", []byte("hallo")), []string{"error:file-type"}},
		{"xml that is not the record", mem("Daten.xml", []byte("<a/>")), []string{"error:xml-not-record"}},
		{"pdf header but no cross-reference", mem("Kaputt.pdf", []byte("%PDF-1.7\n1 0 obj << >> endobj\n")), []string{"error:pdf-unreadable"}},
		{"truncated pdf", mem("Halb.pdf", certstest.Document(t, "plain_gs.pdf")[:1500]), []string{"error:pdf-unreadable"}},
		{"encrypted pdf (AES-256, password)", disk(t, "Geheim.pdf", "encrypted_aes256.pdf"), []string{"error:pdf-encrypted"}},
		{"encrypted pdf (empty user password)", disk(t, "Offen.pdf", "encrypted_empty_password.pdf"), []string{"error:pdf-encrypted"}},
		{"javascript open action", disk(t, "JS.pdf", "javascript_openaction.pdf"), []string{"error:pdf-javascript"}},
		{"javascript in the name tree", disk(t, "JS.pdf", "javascript_names.pdf"), []string{"error:pdf-javascript"}},
		{"javascript hidden in an object stream", disk(t, "JS.pdf", "javascript_objstm.pdf"), []string{"error:pdf-javascript"}},
		{"embedded file", disk(t, "Anhang.pdf", "attachment.pdf"), []string{"error:pdf-embedded-file"}},
		{"launch action", disk(t, "Start.pdf", "launch.pdf"), []string{"error:pdf-external-action"}},
		{"remote go-to action", disk(t, "Verweis.pdf", "gotor.pdf"), []string{"error:pdf-external-action"}},
		{"submit form to a URL", disk(t, "Formular.pdf", "submitform.pdf"), []string{"error:pdf-external-action", "error:pdf-external-ref"}},
		{"web link", disk(t, "Link.pdf", "uri_link.pdf"), []string{"warning:pdf-link"}},
		{"standard font not embedded", disk(t, "Schrift.pdf", "font_not_embedded.pdf"), []string{"warning:pdf-font-not-embedded"}},
		{"ghostscript default: Helvetica not embedded", disk(t, "Schrift.pdf", "gs_default_font_not_embedded.pdf"), []string{"warning:pdf-font-not-embedded"}},
		{"truetype font without font program", disk(t, "Schrift.pdf", "truetype_no_file.pdf"), []string{"warning:pdf-font-not-embedded"}},
		{"tiff header without IFD", mem("Scan.tif", []byte("II*\x00\xff\xff\x00\x00")), []string{"error:tiff-unreadable"}},
		{"tiff without image data", mem("Scan.tif", tiffWithout(273)), []string{"error:tiff-unreadable"}},
		{"bigtiff", mem("Scan.tif", []byte("II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00")), []string{"error:content-mismatch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := check(t, tc.file)
			if got := rules(fs); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("findings %v, want %v\n%v", got, tc.want, fs)
			}
			for _, f := range fs {
				if f.File != tc.file.Name || f.Message == "" {
					t.Fatalf("finding without file or message: %+v", f)
				}
			}
			wantErr := strings.HasPrefix(tc.want[0], "error")
			if err := fs.Err(); wantErr != errors.Is(err, ervb.ErrRefused) {
				t.Fatalf("Err() = %v", err)
			}
		})
	}
}

// tiffWithout is a minimal little-endian TIFF whose IFD lacks tag.
func tiffWithout(tag uint16) []byte {
	b := []byte("II*\x00\x08\x00\x00\x00")
	tags := []uint16{256, 257, 273}
	var entries [][]byte
	for _, tg := range tags {
		if tg == tag {
			continue
		}
		entries = append(entries, []byte{byte(tg), byte(tg >> 8), 3, 0, 1, 0, 0, 0, 1, 0, 0, 0})
	}
	b = append(b, byte(len(entries)), 0)
	for _, e := range entries {
		b = append(b, e...)
	}
	return append(b, 0, 0, 0, 0)
}

func TestMessageLimits(t *testing.T) {
	pdf := certstest.Document(t, "plain_gs.pdf")
	var files []ervb.File
	for i := range 4 {
		files = append(files, mem("Anlage_"+strconv.Itoa(i)+".pdf", pdf))
	}
	c := ervb.Checker{Limits: ervb.Limits{MaxFiles: 3, MaxBytes: int64(3 * len(pdf))}, TempDir: t.TempDir()}
	fs, err := c.Check(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rules(fs), " "); got != "error:too-many-files error:message-too-large" {
		t.Fatalf("findings %v", fs)
	}
	// The defaults are the ERVB's: 1000 files, 200 MB.
	if l := (ervb.Limits{}).WithDefaults(); l.MaxFiles != 1000 || l.MaxBytes != 200_000_000 {
		t.Fatalf("defaults %+v", l)
	}
}

func TestNames(t *testing.T) {
	pdf := certstest.Document(t, "plain_gs.pdf")
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"Klage_Müller.pdf"}, ""},
		{[]string{"Klage Müller.pdf"}, "error:file-name"},
		{[]string{"Klage.v2.pdf"}, "error:file-name"},
		{[]string{strings.Repeat("a", 87) + ".pdf"}, "error:file-name"},
		{[]string{"Klage.pdf", "KLAGE.pdf"}, "error:file-name-duplicate"},
		{[]string{"CON.pdf"}, "error:file-name"},
	} {
		var files []ervb.File
		for _, n := range tc.names {
			files = append(files, mem(n, pdf))
		}
		if got := strings.Join(rules(check(t, files...)), " "); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.names, got, tc.want)
		}
	}
}

// A detached signature is named after its document plus .p7s (as the
// justice sample data do) and must belong to a document of the message.
func TestSignatureFiles(t *testing.T) {
	pdf := certstest.Document(t, "plain_gs.pdf")
	p7s := certstest.SignCMS(t, pdf, certstest.PKIPath(t, "mailbox-signature.pem"), certstest.PKIPath(t, "mailbox-signature.key"))
	doc := "Klage_14049759-7440-474c-a37b-9a2d98b9d58a.pdf"
	if fs := check(t, mem(doc, pdf), mem(doc+".p7s", p7s)); len(fs) != 0 {
		t.Fatalf("findings %v", fs)
	}
	if got := strings.Join(rules(check(t, mem(doc+".p7s", p7s))), " "); got != "error:signature-orphan" {
		t.Fatalf("orphan: %v", got)
	}
	if got := strings.Join(rules(check(t, mem(doc, pdf), mem(doc+".p7s", []byte("keine Signatur")))), " "); got != "error:signature-unreadable" {
		t.Fatalf("garbage: %v", got)
	}
}

// FuzzCheck: no content makes the check panic, and every finding is
// complete.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"plain_gs.pdf", "plain_objstm.pdf", "scan_g4.tif", "scan_bigendian.tiff", "javascript_objstm.pdf", "attachment.pdf"} {
		f.Add(s[strings.LastIndexByte(s, '.')+1:], certstest.Document(f, s))
	}
	f.Add("p7s", []byte("0\x80"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		if len(ext) > 8 {
			return
		}
		c := ervb.Checker{TempDir: dir}
		fs, err := c.Check(context.Background(), []ervb.File{mem("Datei."+ext, data), mem("Datei.pdf", data)})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range fs {
			if fd.Rule == "" || fd.Message == "" || (fd.Severity != ervb.SeverityError && fd.Severity != ervb.SeverityWarning) {
				t.Fatalf("incomplete finding %+v", fd)
			}
		}
	})
}
