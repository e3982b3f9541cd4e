// Package xmlenc implements the subset of W3C XML Encryption 1.1 that
// OSCI-Transport 1.2 uses, for both of its layers: transport encryption of
// a whole message (soapMessageEncrypted, ciphertext in the cid:osci_enc
// part) and content encryption of ContentContainers for the addressee and
// further readers, with per-attachment keys.
//
// # Implemented
//
//   - xenc:EncryptedData with AES-GCM (xmlenc11#aes256-gcm written;
//     aes128-gcm and aes192-gcm also read). The IV is written with 12 bytes
//     and announced as osci128:IvLength Value="12"; on reading, an absent
//     IvLength means a 16-byte IV (OSCI libraries before 2.0), and a present
//     one must say 12 or 16. Ciphertext is IV ‖ C ‖ 128-bit tag.
//   - xenc:EncryptedKey with xmlenc11#rsa-oaep, digest SHA-256 or SHA-512
//     and xenc11:MGF mgf1sha256 or mgf1sha512, empty label; written with
//     SHA-256/MGF1-SHA256. One EncryptedKey per recipient, each naming its
//     certificate by ds:X509Data/ds:X509Certificate or by a
//     ds:RetrievalMethod to an element with that Id in the same document
//     (OSCI's reader certificates in NonIntermediaryCertificates).
//   - ds:MgmtData carrying a raw AES key (OSCI per-attachment keys), only
//     when the caller allows it (Decrypter.AllowMgmtData).
//   - CipherValue inline, or CipherReference to a cid: MIME part, read and
//     written as a stream (PartOpener; Encrypter.EncryptStream). OSCI writes
//     the xmldsig#base64 Transform on that reference whether or not the part
//     is base64; the PartOpener returns the octets with any transfer
//     encoding undone and no transform is applied again. No other transform
//     is accepted.
//   - Type Element and Content (DecryptElement, EncryptElement) and the
//     MimeType attribute as OSCI writes it.
//
// # Refused
//
// Before any decryption, ErrAlgorithmNotAllowed refuses: CBC modes of AES
// and triple DES (the Jager–Somorovsky padding and parsing oracles),
// rsa-1_5 (Bleichenbacher), rsa-oaep-mgf1p and RSA-OAEP whose DigestMethod
// or MGF is absent (both default to SHA-1), OAEPparams labels, key wrap,
// an EncryptedKey that names a block cipher, and every URI not listed
// above. Every EncryptedKey of an EncryptedData is checked, not only ours,
// so a message that would make the key usable under a weaker algorithm
// elsewhere is refused as a whole. ds:MgmtData where not allowed gives
// ErrKeyNotAllowed. EncryptedKeys outside ds:KeyInfo (ReferenceList),
// X509IssuerSerial and X509SKI identification are not implemented: such a
// key is never treated as ours.
//
// # How decryption fails
//
// Only the EncryptedKey whose certificate carries our public key is tried;
// no other is ever handed to the private key. Every failure after the
// structural and algorithm checks — no EncryptedKey for us, an RSA-OAEP
// unwrap that fails or yields a key of the wrong length, a CipherValue
// that is not base64, a wrong tag, a plaintext that DecryptElement cannot
// parse as the announced XML — returns the identical value ErrDecrypt,
// with no detail.
// A failed unwrap continues with a random key so that it fails at the tag
// check like a tampered ciphertext. Limits (ErrLimit), unavailable parts
// (ErrPart) and errors of the caller's writer depend on no secret and stay
// distinguishable.
//
// # No plaintext before the tag
//
// Decrypter.DecryptTo writes nothing to its writer unless the complete
// ciphertext authenticated (see package gcmstream). Inline ciphertext is
// held in memory and read twice, tag first. A cid: part offered as a plain
// stream is spooled privately (ciphertext only) while the tag is computed,
// then decrypted from the spool. A part offered as io.ReaderAt is read
// twice in place; it must not change in between: if it does, the second
// pass notices and returns ErrDecrypt, but plaintext may already have been
// written, so offer only files this process owns, or a stream. Memory use
// for cid: parts is constant.
package xmlenc
