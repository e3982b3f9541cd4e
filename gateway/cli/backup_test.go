package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// TestBackupWhileRunningAndRestore backs up a gateway's data while
// submissions keep arriving, restores it into an empty directory, and
// finds there every message of the snapshot with its documents and a
// journal that verifies.
func TestBackupWhileRunningAndRestore(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	e.SubmitN(t, 5)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during atomic.Int32
	wg.Add(1)
	go func() { // the gateway keeps accepting while the backup runs
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body, ct := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: fmt.Sprintf("Spät_%d.pdf", i), Content: fmt.Sprintf("late %d", i)})
			req, _ := http.NewRequest("POST", e.TS.URL+"/v1/messages", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+apitest.Token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				if resp.StatusCode == 202 {
					during.Add(1)
				}
				resp.Body.Close()
			}
		}
	}()
	bak := filepath.Join(t.TempDir(), "backup")
	code, out, errs := runCLI(t, nil, "backup", "--data", e.Dir, "--json", bak)
	close(stop)
	wg.Wait()
	if code != ExitOK {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out, errs)
	}
	var man BackupManifest
	if err := json.Unmarshal([]byte(out), &man); err != nil || man.Messages < 5 || man.Blobs != man.Messages || man.Files[sqlite.FileName] == "" || man.Files["addressbook.json"] == "" {
		t.Fatalf("manifest %+v %v", man, err)
	}
	if during.Load() == 0 {
		t.Log("no submission completed during the backup")
	} else {
		t.Logf("%d submissions completed during the backup", during.Load())
	}

	data := filepath.Join(t.TempDir(), "restored")
	code, out, errs = runCLI(t, nil, "restore", "--data", data, bak)
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("%d messages", man.Messages)) || !strings.Contains(out, "journal intact") {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "journal", "verify", "--data", data)
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("head #%d %s", man.JournalSeq, man.JournalHash)) {
		t.Fatalf("journal verify: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "messages", "list", "--data", data, "--all", "--json")
	if code != ExitOK {
		t.Fatalf("messages list: exit %d %s", code, errs)
	}
	if n := strings.Count(out, `"direction": "out"`); n != man.Messages {
		t.Fatalf("restored list holds %d messages, the backup %d:\n%s", n, man.Messages, out)
	}
	dl := t.TempDir()
	if code, out, errs := runCLI(t, nil, "messages", "download", "--data", data, "--dir", dl, "1"); code != ExitOK {
		t.Fatalf("download from the restored data: exit %d\n%s\n%s", code, out, errs)
	}
	if got, err := os.ReadFile(filepath.Join(dl, "Dok_0.pdf")); err != nil || string(got) != "content 0" {
		t.Fatalf("restored document: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(data, "addressbook.json")); err != nil {
		t.Fatalf("address book not restored: %v", err)
	}

	runCLICases(t, nil, []cliCase{
		{"restore into a non-empty directory", []string{"restore", "--data", data, bak}, ExitFail, "", "not empty"},
		{"backup into a non-empty directory", []string{"backup", "--data", e.Dir, bak}, ExitFail, "", "not empty"},
		{"backup without source", []string{"backup", bak}, ExitUsage, "", "--config FILE or --data DIR"},
		{"restore without data", []string{"restore", bak}, ExitUsage, "", "--data is required"},
		{"restore of no backup", []string{"restore", "--data", t.TempDir(), t.TempDir()}, ExitFail, "", "no complete backup"},
	})
	os.WriteFile(filepath.Join(bak, "addressbook.json"), []byte("[]"), 0o600)
	checkCLI(t, nil, cliCase{"tampered backup", []string{"restore", "--data", filepath.Join(t.TempDir(), "x"), bak}, ExitFail, "", "does not match the manifest"})
}
