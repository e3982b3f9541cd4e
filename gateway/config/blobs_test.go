package config

import (
	"testing"
)

func TestBlobsConfig(t *testing.T) {
	const s3 = "blobs: {kind: s3, endpoint: 's3.example.org:443', bucket: gateway-docs, access_key: {env: AK}, secret_key: {file: /etc/bebpo/s3key}"
	tests := []struct {
		name, yaml string
		want       string // kind after Validate
		err        string
	}{
		{"default", "", BlobsFolder, ""},
		{"folder", "blobs: {kind: folder}", BlobsFolder, ""},
		{"folder with a setting", "blobs: {kind: folder, bucket: x}", "", "blobs: kind folder keeps the documents"},
		{"postgres with the store's dsn", "store: {kind: postgres, dsn: {env: DSN}}\nblobs: {kind: postgres}", BlobsPostgres, ""},
		{"postgres with its own dsn", "blobs: {kind: postgres, dsn: {file: /etc/bebpo/blobs-dsn}, max_conns: 4}", BlobsPostgres, ""},
		{"postgres without any dsn", "blobs: {kind: postgres}", "", "blobs.dsn: is required unless store.kind is postgres"},
		{"postgres with both", "blobs: {kind: postgres, dsn: {file: /f, env: E}}", "", "blobs.dsn: needs exactly one"},
		{"postgres with an s3 setting", "store: {kind: postgres, dsn: {env: DSN}}\nblobs: {kind: postgres, bucket: b}", "", "are for kind s3"},
		{"postgres connections", "blobs: {kind: postgres, dsn: {env: E}, max_conns: 501}", "", "blobs.max_conns: must be between 1 and 500"},
		{"s3", s3 + "}", BlobsS3, ""},
		{"s3 with options", s3 + ", prefix: gw/, region: eu-central-1, part_size_mib: 64, spool_dir: /var/spool/bebpo}", BlobsS3, ""},
		{"s3 plain http to loopback", "blobs: {kind: s3, endpoint: '127.0.0.1:9000', bucket: docs, insecure: true, access_key: {env: A}, secret_key: {env: S}}", BlobsS3, ""},
		{"s3 plain http elsewhere", "blobs: {kind: s3, endpoint: 's3.example.org:80', bucket: docs, insecure: true, access_key: {env: A}, secret_key: {env: S}}", "", "blobs.insecure: plain HTTP is allowed only to a loopback"},
		{"s3 without endpoint", "blobs: {kind: s3, bucket: docs, access_key: {env: A}, secret_key: {env: S}}", "", "blobs.endpoint: must be host:port"},
		{"s3 bad bucket", "blobs: {kind: s3, endpoint: 'h:1', bucket: Docs_1, access_key: {env: A}, secret_key: {env: S}}", "", "blobs.bucket"},
		{"s3 without keys", "blobs: {kind: s3, endpoint: 'h:1', bucket: docs}", "", "blobs.access_key: needs exactly one"},
		{"s3 part size", s3 + ", part_size_mib: 4}", "", "blobs.part_size_mib: must be between 5 and 512"},
		{"s3 relative spool", s3 + ", spool_dir: spool}", "", "blobs.spool_dir: must be an absolute path"},
		{"s3 with a dsn", s3 + ", dsn: {env: E}}", "", "blobs: dsn and max_conns are for kind postgres"},
		{"inline secret key", "blobs: {kind: s3, endpoint: 'h:1', bucket: docs, access_key: {env: A}, secret_key: 'wJalrXUtnFEMI topsecret'}", "", "blobs"},
		{"unknown kind", "blobs: {kind: nfs}", "", `blobs.kind: must be folder, postgres or s3, not "nfs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c := withSection(t, tc.yaml, tc.err, "topsecret"); c != nil && c.Blobs.Kind != tc.want {
				t.Fatalf("kind %q, want %q", c.Blobs.Kind, tc.want)
			}
		})
	}
}
