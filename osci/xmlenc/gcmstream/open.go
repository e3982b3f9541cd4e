package gcmstream

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned by OpenStream when the input exceeds Spool.MaxBytes.
var ErrTooLarge = errors.New("gcmstream: input exceeds spool limit")

// Open authenticates and decrypts IV ‖ C ‖ tag read from src[0:size]
// (ivSize is the IV length the protocol announces) and writes the plaintext
// to dst. Pass 1 checks the tag and writes nothing; pass 2 decrypts. If src
// changes between the passes, pass 2 notices at the end and returns ErrAuth;
// see the package documentation for what that means for dst.
func Open(dst io.Writer, src io.ReaderAt, size int64, key []byte, ivSize int) (int64, error) {
	if ivSize <= 0 || ivSize > MaxIVSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrIVSize, ivSize)
	}
	if size < int64(ivSize+TagSize) {
		if _, err := newState(key, make([]byte, ivSize)); err != nil {
			return 0, err
		}
		return 0, ErrAuth
	}
	iv := make([]byte, ivSize)
	if err := readFullAt(src, iv, 0); err != nil {
		return 0, err
	}
	var want [TagSize]byte
	if err := readFullAt(src, want[:], size-TagSize); err != nil {
		return 0, err
	}
	body := io.NewSectionReader(src, int64(ivSize), size-int64(ivSize)-TagSize)

	s, err := newState(key, iv)
	if err != nil {
		return 0, err
	}
	c := getChunk()
	defer putChunk(c, int(min(body.Size(), chunkSize)))
	buf := c[:]
	if err := hashAll(s, body, buf); err != nil {
		return 0, err
	}
	if !tagEqual(s.tag(), want[:]) {
		return 0, ErrAuth
	}

	s.reset()
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("gcmstream: read: %w", err)
	}
	n, err := decryptAll(dst, s, body, buf, true)
	if err != nil {
		return n, err
	}
	if !tagEqual(s.tag(), want[:]) {
		return n, ErrAuth
	}
	return n, nil
}

func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("gcmstream: read: %w", err)
}

func hashAll(s *state, r io.Reader, buf []byte) error {
	for {
		k, err := io.ReadFull(r, buf)
		s.hash.write(buf[:k])
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return fmt.Errorf("gcmstream: read: %w", err)
		}
	}
}

// decryptAll decrypts r into dst; with rehash it also recomputes GHASH so
// the caller can detect a source that changed since pass 1.
func decryptAll(dst io.Writer, s *state, r io.Reader, buf []byte, rehash bool) (int64, error) {
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if rehash {
				s.hash.write(buf[:k])
			}
			if xerr := s.xorKeyStream(buf[:k], buf[:k]); xerr != nil {
				return n, xerr
			}
			w, werr := dst.Write(buf[:k])
			n += int64(w)
			if werr != nil {
				return n, fmt.Errorf("gcmstream: write: %w", werr)
			}
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return n, nil
		default:
			return n, fmt.Errorf("gcmstream: read: %w", err)
		}
	}
}

// Spool says where OpenStream keeps the ciphertext between its two passes.
type Spool struct {
	// Dir holds the temporary spool file; "" means os.TempDir(). The file is
	// unlinked right after creation where the system allows it.
	Dir string
	// MemBytes is how much ciphertext stays in memory before a file is used.
	// 0 means DefaultMemBytes; a negative value means always use a file.
	MemBytes int64
	// MaxBytes refuses inputs longer than this (ErrTooLarge); 0 means no limit.
	MaxBytes int64
}

// DefaultMemBytes is the in-memory spool size used when Spool.MemBytes is 0.
const DefaultMemBytes = 1 << 20

// OpenStream authenticates and decrypts IV ‖ C ‖ tag read once from src and
// writes the plaintext to dst. It spools the ciphertext privately while
// computing the tag, so nothing reaches dst unless the whole input is
// authentic.
func OpenStream(dst io.Writer, src io.Reader, key []byte, ivSize int, sp Spool) (int64, error) {
	if ivSize <= 0 || ivSize > MaxIVSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrIVSize, ivSize)
	}
	iv := make([]byte, ivSize)
	if _, err := io.ReadFull(src, iv); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if _, kerr := newState(key, iv); kerr != nil {
				return 0, kerr
			}
			return 0, ErrAuth
		}
		return 0, fmt.Errorf("gcmstream: read: %w", err)
	}
	s, err := newState(key, iv)
	if err != nil {
		return 0, err
	}
	store := &spoolStore{sp: sp}
	defer store.close()

	// The last TagSize bytes seen so far may be the tag: hold them back.
	c := getChunk()
	used := 0
	defer func() { putChunk(c, used) }()
	buf := c[:]
	held := 0
	for {
		k, rerr := src.Read(buf[held:])
		held += k
		used = max(used, held)
		if held > TagSize {
			ct := buf[:held-TagSize]
			s.hash.write(ct)
			if err := store.write(ct); err != nil {
				return 0, err
			}
			copy(buf, buf[held-TagSize:held])
			held = TagSize
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("gcmstream: read: %w", rerr)
		}
	}
	if held < TagSize || !tagEqual(s.tag(), buf[:TagSize]) {
		return 0, ErrAuth
	}
	s.reset()
	used = chunkSize // pass 2 may fill the buffer with plaintext
	return store.decrypt(dst, s, buf)
}

// spoolStore keeps ciphertext in memory chunks up to MemBytes, then in a
// file. Nobody else can reach either, so what pass 1 authenticated is what
// pass 2 decrypts.
type spoolStore struct {
	sp   Spool
	mem  []*chunk
	file *os.File
	n    int64
}

func (st *spoolStore) write(p []byte) error {
	filled := st.n
	st.n += int64(len(p))
	if st.sp.MaxBytes > 0 && st.n > st.sp.MaxBytes {
		return ErrTooLarge
	}
	memMax := st.sp.MemBytes
	if memMax == 0 {
		memMax = DefaultMemBytes
	}
	if st.file == nil && st.n <= memMax {
		for len(p) > 0 {
			i := int(filled / chunkSize)
			if i == len(st.mem) {
				st.mem = append(st.mem, getChunk())
			}
			k := copy(st.mem[i][filled%chunkSize:], p)
			filled += int64(k)
			p = p[k:]
		}
		return nil
	}
	if st.file == nil {
		f, err := os.CreateTemp(st.sp.Dir, "gcmstream-spool-*")
		if err != nil {
			return fmt.Errorf("gcmstream: spool: %w", err)
		}
		st.file = f
		_ = os.Remove(f.Name()) // unlinked: only this descriptor reaches it
		for i := range st.mem {
			if _, err := f.Write(st.memBytes(i, filled)); err != nil {
				return fmt.Errorf("gcmstream: spool: %w", err)
			}
		}
		st.releaseMem(filled)
	}
	if _, err := st.file.Write(p); err != nil {
		return fmt.Errorf("gcmstream: spool: %w", err)
	}
	return nil
}

// memBytes is the part of memory chunk i holding spooled bytes, of n.
func (st *spoolStore) memBytes(i int, n int64) []byte {
	return st.mem[i][:min(chunkSize, n-int64(i)*chunkSize)]
}

func (st *spoolStore) releaseMem(n int64) {
	for i, c := range st.mem {
		putChunk(c, len(st.memBytes(i, n)))
	}
	st.mem = nil
}

// decrypt writes the spooled ciphertext's plaintext to dst: memory chunks
// in place, a file through buf.
func (st *spoolStore) decrypt(dst io.Writer, s *state, buf []byte) (int64, error) {
	if st.file != nil {
		if _, err := st.file.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("gcmstream: spool: %w", err)
		}
		return decryptAll(dst, s, st.file, buf, false)
	}
	var n int64
	for i := range st.mem {
		p := st.memBytes(i, st.n)
		if err := s.xorKeyStream(p, p); err != nil {
			return n, err
		}
		w, err := dst.Write(p)
		n += int64(w)
		if err != nil {
			return n, fmt.Errorf("gcmstream: write: %w", err)
		}
	}
	return n, nil
}

func (st *spoolStore) close() {
	st.releaseMem(st.n)
	if st.file != nil {
		name := st.file.Name()
		st.file.Close()
		_ = os.Remove(name)
	}
}
