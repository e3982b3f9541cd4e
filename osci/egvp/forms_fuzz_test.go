package egvp

import (
	"bytes"
	"maps"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// The forms a sender writes are read from attacker-controlled bytes: the
// parsers must never panic, must stay within xmlsec's limits, and what
// they accept must survive our own writer unchanged. Seed corpora are
// under testdata/fuzz/<Target>/.

func fuzzXMLLimits() xmlsec.Limits {
	lim := xmlsec.DefaultLimits()
	lim.MaxBytes = 1 << 16
	return lim
}

// FuzzParseBusinessCard: visitenkarte.xml.
func FuzzParseBusinessCard(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseBusinessCard(data, fuzzXMLLimits())
		if err != nil {
			return
		}
		out, err := c.XML()
		if err != nil {
			return // a value XML cannot carry (a control character from a reference)
		}
		again, err := ParseBusinessCard(out, fuzzXMLLimits())
		if err != nil || again != c {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, c, again)
		}
	})
}

// FuzzParseNachricht: nachricht.xml, and herstellerinformation.xml through
// the same flat-form reader.
func FuzzParseNachricht(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ParseManufacturer(data, fuzzXMLLimits()); err == nil {
			if out, err := m.XML(); err == nil {
				if again, err := ParseManufacturer(out, fuzzXMLLimits()); err != nil || again != m {
					t.Fatalf("manufacturer round trip: %v\n%+v\n%+v", err, m, again)
				}
			}
		}
		n, err := ParseNachricht(data, fuzzXMLLimits())
		if err != nil {
			return
		}
		out, err := n.XML()
		if err != nil {
			return
		}
		again, err := ParseNachricht(out, fuzzXMLLimits())
		if err != nil || again != n {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, n, again)
		}
	})
}

// FuzzParseAdditionalInfos: govello_coco additional_infos (Java properties).
func FuzzParseAdditionalInfos(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAdditionalInfos(data)
		if err != nil {
			return
		}
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, k)
		}
		again, err := ParseAdditionalInfos(a.Bytes(keys, testNow))
		if err != nil || !maps.Equal(a, again) {
			t.Fatalf("round trip: %v\n%q\n%q", err, a, again)
		}
	})
}

// FuzzParseXJustiz: the XJustiz record, read for its message id and the
// eEB request.
func FuzzParseXJustiz(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ParseXJustiz(bytes.NewReader(data), fuzzXMLLimits())
		if err != nil {
			return
		}
		if x.Message == "" {
			t.Fatalf("accepted record without a message name: %+v", x)
		}
	})
}
