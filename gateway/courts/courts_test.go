package courts

import (
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var update = flag.Bool("update", false, "regenerate gds_gerichte.tsv from the shared genericode file")

// genericode is the part of an XÖV genericode code list read here.
type genericode struct {
	Version string `xml:"Identification>Version"`
	Rows    []struct {
		Values []struct {
			Ref   string `xml:"ColumnRef,attr"`
			Value string `xml:"SimpleValue"`
		} `xml:"Value"`
	} `xml:"SimpleCodeList>Row"`
}

// fromGenericode renders the shared GDS.Gerichte file in the embedded form.
func fromGenericode(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1", "codelists", "GDS.Gerichte.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var g genericode
	if err := xml.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# GDS.Gerichte %s\n", g.Version)
	for _, r := range g.Rows {
		var code, name string
		for _, v := range r.Values {
			switch v.Ref {
			case "code":
				code = strings.TrimSpace(v.Value)
			case "wert":
				name = strings.Join(strings.Fields(v.Value), " ")
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", code, name)
	}
	return b.String()
}

// TestEmbeddedListIsTheStandards compares the embedded list with the
// genericode file of the standard; -update rewrites it.
func TestEmbeddedListIsTheStandards(t *testing.T) {
	want := fromGenericode(t)
	if *update {
		if err := os.WriteFile("gds_gerichte.tsv", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if embedded != want {
		t.Fatal("gds_gerichte.tsv differs from the shared GDS.Gerichte.xml; run make testdata")
	}
}

func TestLookup(t *testing.T) {
	l := Default()
	if l.Version != "3.6" || len(l.All()) < 2000 {
		t.Fatalf("version %q, %d entries", l.Version, len(l.All()))
	}
	tests := []struct {
		code      string
		name      string
		dissolved bool
	}{
		{"F1100", "Landgericht Berlin Strafgerichtsbarkeit", false},
		{"f1100", "Landgericht Berlin Strafgerichtsbarkeit", false},
		{"B1901", "Amtsgericht Bonndorf im Schwarzwald", true},
		{"B1902", "Amtsgericht Bad Säckingen", false},
	}
	for _, tt := range tests {
		c, ok := Lookup(tt.code)
		if !ok || c.Name != tt.name || c.Dissolved != tt.dissolved {
			t.Errorf("Lookup(%s) = %+v, %v", tt.code, c, ok)
		}
	}
	for _, code := range []string{"", "X0000", "F1100 X"} {
		if c, ok := Lookup(code); ok {
			t.Errorf("Lookup(%q) = %+v, want unknown", code, c)
		}
	}
}

func TestParseRefusesBrokenLists(t *testing.T) {
	for _, text := range []string{"", "F1100\tLG\n", "# GDS.Gerichte 1\nF1100\n", "# GDS.Gerichte 1\nF1100\tA\nF1100\tB\n"} {
		if _, err := Parse(text); err == nil {
			t.Errorf("Parse(%q) accepted", text)
		}
	}
}
