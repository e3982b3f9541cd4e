package xmlsec

import (
	"flag"
	"os"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// sharedDir returns ../shared beside the repository root (the directory
// holding go.mod).
func sharedDir(t testing.TB) string {
	t.Helper()
	return certstest.SharedDir(t)
}

// needTool returns the path of an external peer tool. Without it the test
// fails under CI=true and is skipped otherwise.
func needTool(t testing.TB, name string) string {
	t.Helper()
	return certstest.NeedTool(t, name)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
