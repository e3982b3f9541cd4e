// Package gcmstream implements AES-GCM (NIST SP 800-38D) over streams, for
// payloads too large to hold in memory (court submissions reach 200 MB).
//
// The wire format is the one XML Encryption 1.1 and OSCI-Transport 1.2 use:
// IV ‖ ciphertext ‖ 128-bit tag, with no additional authenticated data.
// IVs of 12 bytes (J0 = IV ‖ 0³¹ ‖ 1) and of any other non-zero length
// (J0 = GHASH(IV ‖ padding ‖ len(IV)), as OSCI libraries before 2.0 wrote
// with 16 bytes) are supported. The keystream is crypto/cipher's CTR on
// crypto/aes (assembly with AES-NI or the ARMv8 AES instructions), restarted
// where GCM's 32-bit counter wraps. GHASH is our own: carry-less
// multiplication in assembly where the CPU has it (VPCLMULQDQ on 512-bit
// registers or PCLMULQDQ on amd64, PMULL on arm64, chosen at start from
// golang.org/x/sys/cpu), Shoup's 8-bit tables in pure Go elsewhere and
// with the build tag purego. Every method is tested against a bitwise
// reference, and the whole against crypto/cipher byte for byte and against
// published NIST vectors. The work runs in 64 KiB chunks from a pool, so
// memory stays constant whatever the message size. The table method
// indexes its tables by data bytes, as Go's own generic GCM does; the
// assembly methods take constant time.
//
// # Encryption
//
// NewWriter returns an io.WriteCloser that writes the IV at once, encrypts
// everything written to it, and appends the tag on Close. Memory use is
// constant.
//
// # Decryption: no plaintext before the tag
//
// GCM authenticates only at the end of the ciphertext, so a streaming
// decrypter that released plaintext as it went would hand out unauthenticated
// bytes. This package never does: every decryption function makes two passes.
// Pass 1 reads the whole ciphertext and computes the tag; if it does not
// match, the function returns ErrAuth and has written nothing to dst. Only
// then pass 2 decrypts and writes to dst.
//
//   - Open reads twice from an io.ReaderAt (a file, a section of a file, a
//     byte slice). Pass 2 recomputes the tag while it decrypts; if the source
//     changed between the passes it returns ErrAuth at the end, after some
//     plaintext may already have been written. Callers that cannot rule out a
//     concurrent writer of the source must therefore treat dst as untrusted
//     until Open returns nil (write it to a spool they discard on error), or
//     use OpenStream.
//   - OpenStream reads an io.Reader once into a private spool (memory up to
//     Spool.MemBytes, an unlinked temporary file beyond), computing the tag as
//     it goes, and decrypts from the spool. Nobody else can change the spool,
//     so nothing is written to dst unless the tag is valid.
//
// Every authentication failure, including input shorter than IV and tag,
// returns the single sentinel ErrAuth. Failures of dst or of the source are
// returned wrapped as they are, so callers can tell I/O from forgery; callers
// facing an attacker (package xmlenc) fold both into one error.
package gcmstream
