package gateway

import (
	"context"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/pgblobs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/s3blobs"
)

// OpenBlobStore opens the blob store cfg.Blobs names: the folder
// data_dir/blobs, PostgreSQL (the store's database unless blobs.dsn names
// another; the blob tables are migrated at open, under an advisory lock,
// and a schema ahead of this program is refused) or an S3 bucket, which
// must exist. close releases its connections.
func OpenBlobStore(ctx context.Context, cfg *config.Config, now func() time.Time, getenv func(string) string) (b mailbox.BlobStore, close func(), err error) {
	nothing := func() {}
	switch cfg.Blobs.Kind {
	case config.BlobsPostgres:
		dsn, err := blobsDSN(cfg, getenv)
		if err != nil {
			return nil, nothing, err
		}
		s, err := pgblobs.Open(ctx, dsn, pgblobs.Options{MaxConns: cfg.Blobs.MaxConns, Migrate: true, Now: now})
		if err != nil {
			return nil, nothing, err
		}
		return s, s.Close, nil
	case config.BlobsS3:
		o := s3blobs.Options{Endpoint: cfg.Blobs.Endpoint, Bucket: cfg.Blobs.Bucket, Prefix: cfg.Blobs.Prefix,
			Region: cfg.Blobs.Region, Insecure: cfg.Blobs.Insecure, SpoolDir: cfg.Blobs.SpoolDir,
			PartSize: uint64(cfg.Blobs.PartSizeMiB) << 20}
		if o.SpoolDir == "" {
			o.SpoolDir = filepath.Join(cfg.DataDir, "blob-spool")
		}
		if o.AccessKey, err = secretAt(cfg, cfg.Blobs.AccessKey, "blobs.access_key", getenv); err != nil {
			return nil, nothing, err
		}
		if o.SecretKey, err = secretAt(cfg, cfg.Blobs.SecretKey, "blobs.secret_key", getenv); err != nil {
			return nil, nothing, err
		}
		s, err := s3blobs.Open(ctx, o)
		if err != nil {
			return nil, nothing, err
		}
		return s, nothing, nil
	default:
		f, err := mailbox.OpenBlobs(filepath.Join(cfg.DataDir, "blobs"), nil)
		return f, nothing, err
	}
}

// blobsDSN is blobs.dsn, or the store's connection string without it.
func blobsDSN(cfg *config.Config, getenv func(string) string) (string, error) {
	if cfg.Blobs.DSN == (config.SecretRef{}) {
		return PostgresDSN(cfg, getenv)
	}
	return dsnAt(cfg, cfg.Blobs.DSN, "blobs.dsn", getenv)
}
