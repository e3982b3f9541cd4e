package ervb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/textpdf"
)

// pdfWith builds a PDF whose catalog carries extra, with a correct
// classic cross-reference.
func pdfWith(extra string) []byte {
	return textpdf.Objects([]string{
		"<< /Type /Catalog /Pages 2 0 R " + extra + " >>",
		"<< /Type /Pages /Kids [] /Count 0 >>",
	})
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
