package s3blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/internal/blobstore"
)

// ErrUnavailable marks a failure to reach the object store or a request
// it refused: temporary, and nothing was reported committed.
var ErrUnavailable = errors.New("s3blobs: object store unavailable")

// Options configure Open.
type Options struct {
	Endpoint  string // host:port of the S3 API
	Bucket    string
	Prefix    string // of every key, e.g. "gateway/"; may be empty
	Region    string // default "us-east-1"
	AccessKey string
	SecretKey string
	// Insecure speaks plain HTTP (a store on loopback only).
	Insecure bool
	// SpoolDir is the node-local directory of spool files and the
	// collection lock; default the system's temporary directory.
	SpoolDir string
	// PartSize is the size of one part of a multipart upload; default
	// 16 MiB. Memory per upload is about two parts.
	PartSize uint64
	// Timeout bounds one request of a blob of 1 MiB; larger blobs get
	// proportionally longer. Default 30 s.
	Timeout time.Duration
	// CreateBucket makes the bucket if it does not exist (tests);
	// otherwise a missing bucket is an error of Open.
	CreateBucket bool
	// MaxBytes limits one blob; default mailbox.DefaultMaxBlobBytes.
	MaxBytes int64
}

// Store is a mailbox.BlobStore in an S3 bucket.
type Store struct {
	c *minio.Client
	o Options
}

var _ mailbox.BlobStore = (*Store)(nil)

// Open connects to the object store and checks that the bucket exists.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, fmt.Errorf("%w: s3blobs: endpoint and bucket are required", mailbox.ErrInvalidInput)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.SpoolDir == "" {
		o.SpoolDir = os.TempDir()
	}
	if o.PartSize == 0 {
		o.PartSize = 16 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if err := os.MkdirAll(o.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3blobs: spool directory: %w", err)
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       !o.Insecure,
		Region:       o.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: s3blobs: %w", mailbox.ErrInvalidInput, err)
	}
	s := &Store{c: c, o: o}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("%w: bucket %s: %w", ErrUnavailable, o.Bucket, err)
	}
	if !ok && o.CreateBucket {
		if err := c.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{Region: o.Region}); err != nil {
			return nil, fmt.Errorf("%w: create bucket %s: %w", ErrUnavailable, o.Bucket, err)
		}
		ok = true
	}
	if !ok {
		return nil, fmt.Errorf("%w: s3blobs: bucket %s does not exist", mailbox.ErrInvalidInput, o.Bucket)
	}
	return s, nil
}

func (s *Store) key(h string) string      { return s.o.Prefix + "sha256/" + h }
func (s *Store) purgeKey(h string) string { return s.o.Prefix + "purge/" + h }

// ctx bounds a request about n bytes.
func (s *Store) ctx(n int64) (context.Context, context.CancelFunc) {
	d := s.o.Timeout * time.Duration(1+n/(1<<20))
	return context.WithTimeout(context.Background(), d)
}

func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey" || r.Code == "NotFound"
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// writer is an uncommitted blob: an unlinked spool file.
type writer struct {
	s *Store
	f *os.File
	blobstore.State
}

// Begin starts a blob in an unlinked spool file.
func (s *Store) Begin() (mailbox.BlobWriter, error) {
	f, err := os.CreateTemp(s.o.SpoolDir, "blob-*.spool")
	if err != nil {
		return nil, fmt.Errorf("s3blobs: create spool file: %w", diskErr(err))
	}
	if err := os.Remove(f.Name()); err != nil { // nothing is left by a crash
		f.Close()
		return nil, fmt.Errorf("s3blobs: unlink spool file: %w", err)
	}
	return &writer{s: s, f: f, State: blobstore.New(s.o.MaxBytes)}, nil
}

func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", mailbox.ErrDiskFull, err)
	}
	return err
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.Admit(p); err != nil {
		return 0, err
	}
	n, err := w.f.Write(p)
	w.Took(p[:n])
	if err != nil {
		w.Err = fmt.Errorf("s3blobs: write spool file: %w", diskErr(err))
		return n, w.Err
	}
	return n, nil
}

// Open reads back the spool file.
func (w *writer) Open() (io.ReadCloser, error) {
	if w.Done {
		return nil, mailbox.ErrClosed
	}
	return io.NopCloser(io.NewSectionReader(w.f, 0, w.N)), nil
}

// Commit uploads the spool file under its hash.
func (w *writer) Commit() (mailbox.BlobRef, error) {
	if w.Done {
		return mailbox.BlobRef{}, mailbox.ErrClosed
	}
	defer w.Abort()
	if w.Err != nil {
		return mailbox.BlobRef{}, w.Err
	}
	ref := w.Ref()
	ctx, cancel := w.s.ctx(w.N)
	defer cancel()
	_, err := w.s.c.PutObject(ctx, w.s.o.Bucket, w.s.key(ref.SHA256), io.NewSectionReader(w.f, 0, w.N), w.N,
		minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: w.s.o.PartSize, NumThreads: 2,
			// The server checks each part against its MD5; a streaming
			// payload signature (aws-chunked) is not understood by every
			// S3-compatible server.
			SendContentMd5: true, DisableContentSha256: true})
	if err != nil {
		return mailbox.BlobRef{}, unavailable("upload blob", err)
	}
	return ref, nil
}

// Abort discards the spool file.
func (w *writer) Abort() {
	if w.Done {
		return
	}
	w.Done = true
	w.f.Close()
}

// Put stores all of r as one blob.
func (s *Store) Put(r io.Reader) (mailbox.BlobRef, error) { return mailbox.PutBlob(s, r) }

// Verify re-hashes a blob.
func (s *Store) Verify(h string) error { return mailbox.VerifyBlob(s, h) }

// stat finds blob h under its name or, moved aside by a collection, under
// the purge prefix.
func (s *Store) stat(h string) (string, minio.ObjectInfo, error) {
	if !mailbox.ValidBlobName(h) {
		return "", minio.ObjectInfo{}, fmt.Errorf("%w: %q is not a SHA-256", mailbox.ErrBlobMissing, h)
	}
	ctx, cancel := s.ctx(0)
	defer cancel()
	for _, k := range []string{s.key(h), s.purgeKey(h)} {
		fi, err := s.c.StatObject(ctx, s.o.Bucket, k, minio.StatObjectOptions{})
		if err == nil {
			return k, fi, nil
		}
		if !notFound(err) {
			return "", fi, unavailable("stat blob", err)
		}
	}
	return "", minio.ObjectInfo{}, fmt.Errorf("%w: %s", mailbox.ErrBlobMissing, h)
}

// Stat returns the size of a blob.
func (s *Store) Stat(h string) (int64, error) {
	_, fi, err := s.stat(h)
	return fi.Size, err
}

// Open returns the content of a blob.
func (s *Store) Open(h string) (io.ReadCloser, error) {
	k, fi, err := s.stat(h)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx(fi.Size)
	obj, err := s.c.GetObject(ctx, s.o.Bucket, k, minio.GetObjectOptions{})
	if err != nil {
		cancel()
		return nil, unavailable("read blob", err)
	}
	return &object{Object: obj, cancel: cancel}, nil
}

type object struct {
	*minio.Object
	cancel context.CancelFunc
}

func (o *object) Read(p []byte) (int, error) {
	n, err := o.Object.Read(p)
	if err != nil && err != io.EOF {
		if notFound(err) {
			err = fmt.Errorf("%w: removed while read", mailbox.ErrBlobMissing)
		}
		err = unavailable("read blob", err)
	}
	return n, err
}

func (o *object) Close() error {
	defer o.cancel()
	return o.Object.Close()
}

// Collect removes an old, unreferenced blob in two runs; see the package
// doc.
func (s *Store) Collect(h string, writtenBefore time.Time, referenced func() (bool, error)) (mailbox.CollectOutcome, int64, error) {
	if !mailbox.ValidBlobName(h) {
		return mailbox.CollectGone, 0, nil
	}
	ctx, cancel := s.ctx(0)
	defer cancel()
	aside, err := s.c.StatObject(ctx, s.o.Bucket, s.purgeKey(h), minio.StatObjectOptions{})
	switch {
	case err == nil:
		return s.collectAside(h, aside, writtenBefore, referenced)
	case !notFound(err):
		return 0, 0, unavailable("stat blob", err)
	}
	fi, err := s.c.StatObject(ctx, s.o.Bucket, s.key(h), minio.StatObjectOptions{})
	if err != nil && !notFound(err) {
		return 0, 0, unavailable("stat blob", err)
	}
	if out, remove, err := blobstore.Collectable(err == nil, fi.LastModified, writtenBefore, referenced); !remove {
		return out, 0, err
	}
	if err := s.copy(h, s.key(h), s.purgeKey(h), fi.Size); err != nil {
		if notFound(err) {
			return mailbox.CollectGone, 0, nil
		}
		return 0, 0, err
	}
	if err := s.c.RemoveObject(ctx, s.o.Bucket, s.key(h), minio.RemoveObjectOptions{}); err != nil {
		return 0, 0, unavailable("move blob aside", err)
	}
	return mailbox.CollectRecent, 0, nil // removed by a run after the grace period
}

// collectAside decides on a blob a collection moved aside.
func (s *Store) collectAside(h string, aside minio.ObjectInfo, writtenBefore time.Time, referenced func() (bool, error)) (mailbox.CollectOutcome, int64, error) {
	if !aside.LastModified.Before(writtenBefore) {
		return mailbox.CollectRecent, 0, nil
	}
	ctx, cancel := s.ctx(0)
	defer cancel()
	ref, err := referenced()
	if err != nil {
		return 0, 0, err
	}
	if ref {
		if err := s.copy(h, s.purgeKey(h), s.key(h), aside.Size); err != nil {
			return 0, 0, err
		}
	}
	if err := s.c.RemoveObject(ctx, s.o.Bucket, s.purgeKey(h), minio.RemoveObjectOptions{}); err != nil {
		return 0, 0, unavailable("remove blob", err)
	}
	if ref {
		return mailbox.CollectReferenced, 0, nil
	}
	_, err = s.c.StatObject(ctx, s.o.Bucket, s.key(h), minio.StatObjectOptions{})
	switch {
	case err == nil: // written again since it was moved aside: the next run decides
		return mailbox.CollectRecent, 0, nil
	case !notFound(err):
		return 0, 0, unavailable("stat blob", err)
	}
	return mailbox.CollectRemoved, aside.Size, nil
}

// copy copies object from to object to inside the bucket.
func (s *Store) copy(h, from, to string, size int64) error {
	ctx, cancel := s.ctx(size)
	defer cancel()
	_, err := s.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.o.Bucket, Object: to},
		minio.CopySrcOptions{Bucket: s.o.Bucket, Object: from})
	if err != nil && !notFound(err) {
		return unavailable("copy blob "+h, err)
	}
	return err
}

// LockCollection takes the node-local collection lock.
func (s *Store) LockCollection() (func(), error) { return s.lock(syscall.LOCK_EX) }

// TryLockCollection takes it without waiting.
func (s *Store) TryLockCollection() (func(), error) {
	return s.lock(syscall.LOCK_EX | syscall.LOCK_NB)
}

func (s *Store) lock(how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.o.SpoolDir, "collect.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("s3blobs: blob collection lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, mailbox.ErrCollectionBusy
		}
		return nil, fmt.Errorf("s3blobs: blob collection lock: %w", err)
	}
	return func() { f.Close() }, nil
}
