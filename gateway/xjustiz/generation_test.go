package xjustiz_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

// TestEmbeddedFilesUnmodified: the embedded schemas and code list are the
// published files byte for byte (the XÖV data types are CC BY-ND).
func TestEmbeddedFilesUnmodified(t *testing.T) {
	ref := filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1")
	files, err := filepath.Glob(filepath.Join("schema", "3.5.1", "*.xsd"))
	if err != nil || len(files) != 15 {
		t.Fatalf("%d schema files (%v)", len(files), err)
	}
	files = append(files, filepath.Join("schema", "3.5.1", "codelists", "GDS.Dokumentklasse.xml"))
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join("schema", "3.5.1"), f)
		refName := filepath.Join(ref, "xsd", rel)
		if filepath.Dir(rel) == "codelists" {
			refName = filepath.Join(ref, rel)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(refName)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the published file", rel)
		}
	}
}

func TestGenerations(t *testing.T) {
	if g := xjustiz.Generations(); !slices.Equal(g, []string{"3.5.1"}) {
		t.Errorf("generations %v", g)
	}
	c, err := xjustiz.New(xjustiz.Options{})
	if err != nil || c.Generation() != xjustiz.DefaultGeneration {
		t.Fatalf("%v %v", c, err)
	}
	for _, g := range []string{"3.6.0", "3.5", "latest"} {
		if _, err := xjustiz.New(xjustiz.Options{Generation: g}); !errors.Is(err, xjustiz.ErrUnknownGeneration) {
			t.Errorf("%s: got %v, want ErrUnknownGeneration", g, err)
		}
	}
}

func TestDocumentClasses(t *testing.T) {
	classes := newCodec(t, "x").DocumentClasses()
	if len(classes) != 18 {
		t.Fatalf("%d classes", len(classes))
	}
	if classes[1] != (xjustiz.Code{Code: "003", Name: "Klage / Antrag"}) {
		t.Errorf("class %+v", classes[1])
	}
}

// TestRejectionCodesMatchSchema: the package's table of EEB.StoerungsID
// is the schema's enumeration, names included.
func TestRejectionCodesMatchSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("schema", "3.5.1", "xjustiz_2210_cl_eeb_3_1.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`<xs:simpleType name="eeb.stoerungs-id">`))
	if i < 0 {
		t.Fatal("code list not in the schema")
	}
	re := regexp.MustCompile(`(?s)<xs:enumeration value="([^"]+)">.*?<wert>([^<]+)</wert>`)
	var fromSchema []xjustiz.Code
	for _, m := range re.FindAllSubmatch(b[i:], -1) {
		fromSchema = append(fromSchema, xjustiz.Code{Code: string(m[1]), Name: string(m[2])})
	}
	if !slices.Equal(fromSchema, xjustiz.RejectionCodes()) {
		t.Errorf("schema %v, package %v", fromSchema, xjustiz.RejectionCodes())
	}
}
