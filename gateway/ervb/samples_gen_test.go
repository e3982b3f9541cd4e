package ervb_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var samples = flag.Bool("samples", false, "regenerate testdata/documents with qpdf, ghostscript, img2pdf and libtiff-tools")

// sample is a committed input file made by real PDF and TIFF software.
func sample(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(certstest.RepoRoot(t), "testdata", "documents", name)
}

// handPDF is a one-page PDF source whose catalog gets extra entries and
// whose page gets a font resource; qpdf rewrites it with a correct
// cross-reference, as a PDF producer would.
func handPDF(catalogExtra, pageExtra, font string, objs ...string) string {
	if font == "" {
		font = "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0] /CharProcs << >> /Encoding << /Differences [] >> /FirstChar 0 /LastChar 0 /Widths [0] >>"
	}
	var b strings.Builder
	b.WriteString("%PDF-1.7\n")
	b.WriteString("1 0 obj << /Type /Catalog /Pages 2 0 R " + catalogExtra + " >> endobj\n")
	b.WriteString("2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n")
	b.WriteString("3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> " + pageExtra + " >> endobj\n")
	content := "BT /F1 12 Tf 72 720 Td (Schriftsatz) Tj ET"
	b.WriteString("4 0 obj << /Length " + itoa(len(content)) + " >> stream\n" + content + "\nendstream endobj\n")
	b.WriteString("5 0 obj " + font + " endobj\n")
	for i, o := range objs {
		b.WriteString(itoa(6+i) + " 0 obj " + o + " endobj\n")
	}
	b.WriteString("trailer << /Root 1 0 R /Size " + itoa(6+len(objs)) + " >>\n%%EOF\n")
	return b.String()
}

func itoa(i int) string {
	s := ""
	if i == 0 {
		return "0"
	}
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

// TestGenerateSamples writes testdata/documents. The files are inputs,
// like the test PKI: regenerating them changes bytes (producers stamp
// dates and IDs), so it runs only with -samples.
func TestGenerateSamples(t *testing.T) {
	if !*samples {
		t.Skip("run with -samples to regenerate testdata/documents")
	}
	for _, tool := range []string{"qpdf", "gs", "img2pdf", "tiffcp", "openssl"} {
		certstest.NeedTool(t, tool)
	}
	dir := filepath.Join(certstest.RepoRoot(t), "testdata", "documents")
	tmp := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		// qpdf exits 3 for warnings (it repaired a hand-written source).
		if err != nil && !(name == "qpdf" && strings.Contains(err.Error(), "exit status 3")) {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	src := func(name string) string { return filepath.Join(tmp, name) }

	// Ghostscript: a text page with an embedded font, classic cross-reference.
	write(src("page.ps"), "%!PS\n/Helvetica findfont 14 scalefont setfont 72 720 moveto (Klage des Landes) show showpage\n")
	// Ghostscript leaves the standard 14 fonts out unless told to embed
	// every font (NeverEmbed empty), as PDF/A writers do.
	run("gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite", "-dEmbedAllFonts=true", "-dSubsetFonts=true",
		"-sOutputFile="+out("plain_gs.pdf"), "-c", "<</NeverEmbed []>> setdistillerparams", "-f", src("page.ps"))
	// Its default output, with Helvetica not embedded.
	run("gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite",
		"-sOutputFile="+out("gs_default_font_not_embedded.pdf"), src("page.ps"))
	// qpdf: the same with object streams and a cross-reference stream, and linearized.
	run("qpdf", "--object-streams=generate", out("plain_gs.pdf"), out("plain_objstm.pdf"))
	run("qpdf", "--linearize", out("plain_gs.pdf"), out("plain_linearized.pdf"))
	// Ghostscript TIFF (G4, little-endian), libtiff big-endian copy, img2pdf PDF.
	run("gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=tiffg4", "-r72", "-sOutputFile="+out("scan_g4.tif"), out("plain_gs.pdf"))
	run("tiffcp", "-B", out("scan_g4.tif"), out("scan_bigendian.tiff"))
	run("img2pdf", "-o", out("scan_img2pdf.pdf"), out("scan_g4.tif"))
	// Encrypted: AES-256 with a user password, and RC4 with an empty one.
	run("qpdf", "--encrypt", "geheim", "owner", "256", "--", out("plain_gs.pdf"), out("encrypted_aes256.pdf"))
	run("qpdf", "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--", out("plain_gs.pdf"), out("encrypted_empty_password.pdf"))
	// An attachment added by qpdf.
	write(src("Anlage.txt"), "eingebettete Datei\n")
	run("qpdf", out("plain_gs.pdf"), "--add-attachment", src("Anlage.txt"), "--", out("attachment.pdf"))

	hand := map[string]string{
		"javascript_openaction": handPDF("/OpenAction 6 0 R", "", "", "<< /S /JavaScript /JS (app.alert\\(1\\)) >>"),
		"javascript_names":      handPDF("/Names << /JavaScript 6 0 R >>", "", "", "<< /Names [(a) 7 0 R] >>", "<< /S /JavaScript /JS 8 0 R >>", "<< /Length 11 >> stream\napp.alert()\nendstream"),
		"launch":                handPDF("/OpenAction << /S /Launch /F (cmd.exe) >>", "", ""),
		"gotor":                 handPDF("", "/Annots [6 0 R]", "", "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /GoToR /F (andere.pdf) /D [0 /Fit] >> >>"),
		"submitform":            handPDF("/AcroForm << /Fields [] >> /OpenAction << /S /SubmitForm /F << /FS /URL /F (http://example.invalid/) >> >>", "", ""),
		"uri_link":              handPDF("", "/Annots [6 0 R]", "", "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://www.justiz.de/) >> >>"),
		"font_not_embedded":     handPDF("", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
		"truetype_no_file":      handPDF("", "", "<< /Type /Font /Subtype /TrueType /BaseFont /Arial /FirstChar 32 /LastChar 32 /Widths [278] /FontDescriptor 6 0 R >>", "<< /Type /FontDescriptor /FontName /Arial /Flags 32 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>"),
	}
	for name, pdf := range hand {
		write(src(name+".src"), pdf)
		run("qpdf", src(name+".src"), out(name+".pdf"))
	}
	// A detached signature of plain_gs.pdf by the test PKI's mailbox key.
	run("openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", out("plain_gs.pdf"), "-out", out("plain_gs.pdf.p7s"),
		"-signer", certstest.PKIPath(t, "mailbox-signature.pem"), "-inkey", certstest.PKIPath(t, "mailbox-signature.key"),
		"-certfile", certstest.PKIPath(t, "intermediate-ca.pem"))
	// JavaScript that only an object stream holds.
	run("qpdf", "--object-streams=generate", out("javascript_openaction.pdf"), out("javascript_objstm.pdf"))
}
