package egvp

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	certstest.Golden(t, filepath.Join("testdata", "golden", name), got, *update)
}

// TestGoldenForms pins the bytes of the forms we write.
func TestGoldenForms(t *testing.T) {
	o := outgoing(t)
	o.MessageType = TypeGeneral
	card := o.Card
	card.UserID, card.RoleID = o.SenderID, RoleBeBPo
	fs, err := forms(o, card, Manufacturer{Product: "bebpo-gateway 1.0.0", Vendor: "bebpo-gateway contributors"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		golden(t, f.id, f.data)
	}
	infos := AdditionalInfos{"user_id": o.SenderID, "signature_level": SignatureLevelNone, "subject": o.Subject}
	golden(t, FileAdditionalInfos, infos.Bytes([]string{"user_id", "signature_level", "subject"}, testNow))
}
