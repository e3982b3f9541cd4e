package s3blobs_test

import (
	"context"
	"os"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/blobtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/s3blobs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/s3blobs/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func TestBlobStoreConformanceS3(t *testing.T) {
	blobtest.Run(t, blobtest.Harness{New: func(t *testing.T) func(int64) mailbox.BlobStore {
		o := s3test.Options(t)
		return func(max int64) mailbox.BlobStore {
			o.MaxBytes = max
			s, err := s3blobs.Open(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}})
}
