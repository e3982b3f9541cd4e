package registersim_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/registersim"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestDemoScenario(t *testing.T) {
	dir := t.TempDir()
	intake, err := mailbox.NewFolderIntake(filepath.Join(dir, "eakte"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := registersim.Demo(context.Background(), dir, intake, "vergabe", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Queries != 2 || res.BlockedGate.MayProceed || len(res.BlockedGate.Missing) != 1 || !res.OpenGate.MayProceed || res.Filed != 2 {
		t.Fatalf("%+v", res)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "eakte"))
	if len(ents) != 2 {
		t.Fatalf("intake holds %d entries", len(ents))
	}
}
