package mailbox_test

import (
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/blobtest"
)

// folderHarness runs the BlobStore conformance suite on the folder.
func folderHarness() blobtest.Harness {
	return blobtest.Harness{New: func(t *testing.T) func(int64) mailbox.BlobStore {
		root := t.TempDir()
		return func(max int64) mailbox.BlobStore {
			b, err := mailbox.OpenBlobs(root, nil)
			if err != nil {
				t.Fatal(err)
			}
			if max > 0 {
				b.MaxBytes = max
			}
			return b
		}
	}}
}

func TestBlobStoreConformanceFolder(t *testing.T) { blobtest.Run(t, folderHarness()) }
