package blobtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/blobtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/pgblobs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/s3blobs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/s3blobs/s3test"
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		defer s3test.Stop()
		return pgtest.Main(m)
	}())
}

// BenchmarkBlobStores writes and reads blobs of 1 KiB, 1 MiB, 20 MiB and
// 200 MiB through the three stores in one run, for docs/scale.md:
//
//	go test -run '^$' -bench BlobStores -benchtime 3x ./mailbox/blobtest/
func BenchmarkBlobStores(b *testing.B) {
	b.Run("folder", func(b *testing.B) {
		s, err := mailbox.OpenBlobs(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		blobtest.Bench(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s, err := pgblobs.Open(context.Background(), pgtest.DSN(b), pgblobs.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		blobtest.Bench(b, s)
	})
	b.Run("s3", func(b *testing.B) {
		s, err := s3blobs.Open(context.Background(), s3test.Options(b))
		if err != nil {
			b.Fatal(err)
		}
		blobtest.Bench(b, s)
	})
}

// TestContentMatchesStream: the generator the suite streams from gives
// the bytes Content holds, so a streamed blob is compared with the right
// hash.
func TestContentMatchesStream(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 1000, 1 << 20} {
		want := blobtest.Content("x", n)
		got := make([]byte, 0, n)
		buf := make([]byte, 7)
		s := blobtest.NewStream("x", int64(n))
		for {
			k, err := s.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil {
				break
			}
		}
		if string(got) != string(want) {
			t.Fatalf("n=%d: stream differs from Content", n)
		}
	}
}
