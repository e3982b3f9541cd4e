package ervb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
)

// pdfWith builds a PDF whose catalog carries extra, with a correct
// classic cross-reference.
func pdfWith(extra string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R " + extra + " >>",
		"<< /Type /Pages /Kids [] /Count 0 >>",
	}
	var b strings.Builder
	b.WriteString("%PDF-1.7\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return []byte(b.String())
}

// Names written with #-escapes are the names a reader acts on.
func TestJavaScriptBehindEscapedNames(t *testing.T) {
	for _, extra := range []string{
		"/OpenAction << /S /JavaScri#70t /J#53 (app.alert\\(1\\)) >>",
		"/AA << /O << /S /#4A#61#76#61#53#63#72#69#70#74 >> >>",
	} {
		if got := rules(check(t, mem("Brief.pdf", pdfWith(extra)))); strings.Join(got, " ") != "error:pdf-javascript" {
			t.Errorf("%s: %v", extra, got)
		}
	}
	if fs := check(t, mem("Brief.pdf", pdfWith(""))); len(fs) != 0 {
		t.Fatalf("clean hand-made PDF: %v", fs)
	}
}

// Actions nested anywhere (annotation, page, form field) are found: the
// walk covers every object, not only the catalog's open action.
func TestNestedActions(t *testing.T) {
	for extra, want := range map[string]string{
		"/Outlines << /First << /A << /S /Launch /Win << /F (calc.exe) >> >> >> >>":        "error:pdf-external-action",
		"/AcroForm << /Fields [<< /AA << /K << /S /ImportData /F (daten.fdf) >> >> >>] >>": "error:pdf-external-action",
		"/X << /Type /XObject /Subtype /Form /Ref << /F (fremd.pdf) /Page 1 >> >>":         "error:pdf-external-ref",
		"/Names << /EmbeddedFiles << /Names [] >> >>":                                      "error:pdf-embedded-file",
		"/AcroForm << /Fields [] /XFA 3 0 R >>":                                            "error:pdf-javascript",
	} {
		if got := strings.Join(rules(check(t, mem("Brief.pdf", pdfWith(extra)))), " "); got != want {
			t.Errorf("%s: %q, want %q", extra, got, want)
		}
	}
}

// A cancelled check is an error, never an empty (passing) result.
func TestCancelledCheckDoesNotPass(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := ervb.Checker{TempDir: t.TempDir()}
	if _, err := c.Check(ctx, []ervb.File{mem("Brief.pdf", pdfWith(""))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// A PDF beyond the check's limits is refused, not waved through.
func TestOversizedStructureIsRefused(t *testing.T) {
	deep := "/X " + strings.Repeat("[", 200) + strings.Repeat("]", 200)
	c := ervb.Checker{TempDir: t.TempDir()}
	fs, err := c.Check(context.Background(), []ervb.File{mem("Tief.pdf", pdfWith(deep))})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rules(fs), " "); got != "error:check-limit" {
		t.Fatalf("%v", fs)
	}
}
