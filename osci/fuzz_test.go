package osci

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

func addGoldenSeeds(f *testing.F, soapOnly bool) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.mime"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if soapOnly {
			e, err := ReadEntity(bytes.NewReader(b), MIMELimits{}, SinkFunc(func(_ PartHeader, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			}))
			if err != nil {
				f.Fatal(err)
			}
			b = e.SOAP
		}
		f.Add(b)
	}
}

// FuzzReadEntity: the MIME reader never panics or exceeds its limits.
func FuzzReadEntity(f *testing.F) {
	addGoldenSeeds(f, false)
	lim := MIMELimits{MaxParts: 8, MaxHeaderBytes: 512, MaxSOAPBytes: 1 << 16, MaxAttachmentBytes: 1 << 16, MaxTotalBytes: 1 << 18}
	f.Fuzz(func(t *testing.T, b []byte) {
		var total int64
		e, err := ReadEntity(bytes.NewReader(b), lim, SinkFunc(func(_ PartHeader, r io.Reader) error {
			n, err := io.Copy(io.Discard, r)
			total += n
			return err
		}))
		if err == nil && (int64(len(e.SOAP)) > lim.MaxSOAPBytes || len(e.Attachments) >= lim.MaxParts) {
			t.Fatalf("limits exceeded: soap %d, parts %d", len(e.SOAP), len(e.Attachments))
		}
	})
}

// FuzzParse: Parse never panics, and what it accepts it can build again.
func FuzzParse(f *testing.F) {
	addGoldenSeeds(f, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b, xmlsec.Limits{MaxBytes: 1 << 20})
		if err != nil || m.Type == TypeMessageEncrypted || m.Type == TypeFault ||
			ExplicitOnly(m.Type) && m.ControlBlock.ConversationID == "" { // parsed so that a supplier can answer 9802
			return
		}
		m.Content = nil
		if m.ContentPackage != nil {
			m.Content = []byte("<osci:ContentPackage></osci:ContentPackage>")
		}
		if _, err := m.Envelope(); err != nil {
			t.Fatalf("parsed %s does not build again: %v", m.Type, err)
		}
	})
}
