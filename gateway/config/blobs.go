package config

import (
	"net"
	"path/filepath"
)

// BlobsConfig chooses where documents are kept (mailbox.BlobStore). The
// default is the folder data_dir/blobs, for one gateway. Several gateways
// that share no file system keep them in PostgreSQL (chunked rows, by
// default in the store's database) or in an S3-compatible object store;
// docs/scale.md says which suits what size.
type BlobsConfig struct {
	Kind string `yaml:"kind"` // "folder" (default), "postgres" or "s3"
	// DSN is the PostgreSQL connection string of kind postgres; empty:
	// the store's (store.kind postgres).
	DSN SecretRef `yaml:"dsn"`
	// MaxConns bounds kind postgres's connections, and so the documents
	// written at once; default 8.
	MaxConns int32 `yaml:"max_conns"`
	// Endpoint is the host:port of the S3 API (kind s3).
	Endpoint string `yaml:"endpoint"`
	Bucket   string `yaml:"bucket"`
	// Prefix starts every key, e.g. "gateway/"; may be empty.
	Prefix    string    `yaml:"prefix"`
	Region    string    `yaml:"region"`
	AccessKey SecretRef `yaml:"access_key"`
	SecretKey SecretRef `yaml:"secret_key"`
	// Insecure speaks plain HTTP; allowed only to a loopback address.
	Insecure bool `yaml:"insecure"`
	// SpoolDir holds kind s3's documents while they are written, on this
	// node; default data_dir/blob-spool.
	SpoolDir string `yaml:"spool_dir"`
	// PartSizeMiB is the part size of kind s3's multipart uploads
	// (5 to 512; default 16).
	PartSizeMiB int `yaml:"part_size_mib"`
}

// Blob store kinds.
const (
	BlobsFolder   = "folder"
	BlobsPostgres = "postgres"
	BlobsS3       = "s3"
)

func (b *BlobsConfig) validate(p *problems, c *Config) {
	if b.Kind == "" {
		b.Kind = BlobsFolder
	}
	pg := b.DSN != (SecretRef{}) || b.MaxConns != 0
	s3 := b.Endpoint != "" || b.Bucket != "" || b.Prefix != "" || b.Region != "" || b.AccessKey != (SecretRef{}) ||
		b.SecretKey != (SecretRef{}) || b.Insecure || b.SpoolDir != "" || b.PartSizeMiB != 0
	switch b.Kind {
	case BlobsFolder:
		if pg || s3 {
			p.add("blobs", "kind folder keeps the documents in data_dir/blobs and takes no other setting")
		}
	case BlobsPostgres:
		if s3 {
			p.add("blobs", "endpoint, bucket, prefix, region, keys, insecure, spool_dir and part_size_mib are for kind s3")
		}
		switch {
		case b.DSN == (SecretRef{}) && c.Store.Kind != StorePostgres:
			p.add("blobs.dsn", "is required unless store.kind is postgres (then the store's is used)")
		case b.DSN != (SecretRef{}) && (b.DSN.File == "") == (b.DSN.Env == ""):
			p.add("blobs.dsn", "needs exactly one of file and env")
		}
		if b.MaxConns < 0 || b.MaxConns > MaxStoreConns {
			p.add("blobs.max_conns", "must be between 1 and %d (0: default 8), not %d", MaxStoreConns, b.MaxConns)
		}
	case BlobsS3:
		if pg {
			p.add("blobs", "dsn and max_conns are for kind postgres")
		}
		if host, port, err := net.SplitHostPort(b.Endpoint); err != nil || host == "" || port == "" {
			p.add("blobs.endpoint", "must be host:port, not %q", b.Endpoint)
		} else if b.Insecure && !loopback(host) {
			p.add("blobs.insecure", "plain HTTP is allowed only to a loopback address, not %q", host)
		}
		if !validBucket(b.Bucket) {
			p.add("blobs.bucket", "must be 3 to 63 lower-case letters, digits, dots and hyphens, not %q", b.Bucket)
		}
		for key, r := range map[string]SecretRef{"blobs.access_key": b.AccessKey, "blobs.secret_key": b.SecretKey} {
			if (r.File == "") == (r.Env == "") {
				p.add(key, "needs exactly one of file and env")
			}
		}
		if b.PartSizeMiB != 0 && (b.PartSizeMiB < 5 || b.PartSizeMiB > 512) {
			p.add("blobs.part_size_mib", "must be between 5 and 512 (0: default 16), not %d", b.PartSizeMiB)
		}
		if b.SpoolDir != "" && !filepath.IsAbs(b.SpoolDir) {
			p.add("blobs.spool_dir", "must be an absolute path, not %q", b.SpoolDir)
		}
	default:
		p.add("blobs.kind", "must be folder, postgres or s3, not %q", b.Kind)
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validBucket(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '.' || r == '-') && i > 0 && i < len(s)-1
		if !ok {
			return false
		}
	}
	return true
}
