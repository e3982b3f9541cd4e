// Package certs loads the gateway's keys and decides which peer
// certificates it trusts, for what, and why.
//
// # What it implements
//
//   - Keystores: PKCS#12 (PBES2/AES as written by OpenSSL 3, and the legacy
//     RC2/3DES forms of Java and older OpenSSL, with the CA chain inside)
//     and unencrypted PEM keys (PKCS#8, PKCS#1, SEC 1) with PEM
//     certificates. A key file that group or others can access is refused
//     (ErrKeyFilePermissions); passwords come from the caller, which reads
//     them from a file or an environment variable, never a command line.
//     ReadSecretFile applies the same rule to password and token files
//     (group access only when the caller allows it, others never), and
//     checks the opened file, not the path.
//   - Identity: the signature and cipher (Verschlüsselung) key pairs of one
//     mailbox (Postfach), the own-key policy (RSA ≥ 3072, no SHA-1/MD5,
//     matching key usage, inside the validity window) and the OSCI
//     certificate Id "<role>_<cipher|signature>_<sha256 hex of DER>".
//   - TrustStore: configured root and intermediate CAs, and pinned peer
//     certificates (the intermediary's, SAFE-published cipher certificates).
//   - TrustSets: one TrustStore per Use (intermediary signer, VHN issuer,
//     party content signer, recipient cipher key, TLS server), and
//     Validators, one Validator per use over its own set.
//   - Validator: algorithm policy, key policy, validity window, key usage
//     per purpose, trust (pin or path to a configured root via
//     x509.Verify), and revocation (OCSP per RFC 6960, CRL per RFC 5280)
//     through RevocationChecker, all at the time its injected clock says.
//
// # Trust model
//
// Trust comes only from the TrustStore. A certificate carried in a message
// is a candidate: Select picks among the offered certificates the one that
// is pinned (byte-for-byte equal to a pinned certificate) or chains to a
// configured root. Offered CA certificates may serve as intermediates on
// that path (path hints) because every link is signature-checked and the
// path must still end at a configured root; they never become roots or
// pins. A self-signed twin of a pinned certificate (same subject and key
// identifier, different key) is therefore not trusted. A configured
// intermediate is not a trust anchor either: the path must reach a root.
//
// Trust is given per use. A certificate trusted for one use proves nothing
// for another: a Validator built by TrustSets.Validators sees only the set
// of its Use, checks only the key usage of that use (asked about another
// purpose it fails with ErrKeyUsage), and for UseIntermediary and
// UseRecipientCipher accepts pinned certificates only, whatever CAs the
// set holds (ErrNotTrusted). So a SAFE cipher certificate pinned in the
// address book, though it carries digitalSignature, signs nothing the
// gateway trusts; a certificate that chains to the CAs of party
// signatures does not pass as the intermediary; and only a certificate
// from a CA in the VHN set is a VHN certificate. A nil set trusts nothing
// (no VHN set: no VHN mark). TLS servers are checked by crypto/tls against
// TrustSets.TLSRoots (nil: the system roots). A Validator without Use is
// an ad-hoc check whose caller chose the store for one purpose.
//
// A pinned certificate is trusted by configuration, not by a CA: it gets
// the algorithm, key, validity and key-usage checks but no path building
// and no revocation check (a self-signed certificate has nobody to ask);
// the Result says so (Pinned, revocation "skipped"). Removing the pin is
// how such a certificate is withdrawn.
//
// # Policy
//
// Certificates signed with SHA-1 or MD5 are rejected (ErrWeakAlgorithm),
// except for a root's self-signature, which carries no trust. Peer RSA
// keys below 2048 bits are rejected (ErrWeakKey); 2048–2999 bits are
// accepted with a warning that Policy.RejectLegacyPeerKeys turns into
// ErrWeakKey (BSI TR-02102-1 requires 3000; real EGVP certificates still
// have 2048). ECDSA P-256 and P-384 are accepted for peers. Own keys must
// be RSA of at least 3072 bits, because OSCI 1.2 peers sign and transport
// keys with RSA. Key usage: signature needs digitalSignature or
// nonRepudiation, cipher needs keyEncipherment; a certificate without the
// key usage extension fits neither. Extended key usages are not required
// (German e-government certificates often carry none or unrelated ones).
//
// # Revocation
//
// For every certificate of the path except the root, the OCSP responders
// the certificate names are asked first (POST, SHA-256 CertID), then its
// CRL distribution points (GET, HTTP only, full CRLs). An OCSP response
// must be signed by the issuing CA or by a responder certificate that the
// same CA issued and that carries id-kp-OCSPSigning (ErrOCSPSigner
// otherwise), be current (thisUpdate not in the future and nextUpdate not
// passed, with RevocationChecker.Skew; without nextUpdate at most
// MaxOCSPAge old), and fit in MaxOCSPResponseBytes (ErrBadOCSPResponse
// otherwise). A CRL must be issued and signed by the issuer and be
// current (ErrBadCRL). Good and revoked answers are cached until their
// nextUpdate; failures are not cached. No nonces are sent, so answers can
// be cached. A revoked status is final whatever the revocation time.
//
// The mode is a policy per purpose: RevocationRequire (fail-closed, the
// default for signatures) rejects with ErrRevocationUnavailable when no
// answer can be had; RevocationPrefer (fail-open, the default for cipher
// certificates) only warns then. Fail-open forgives silence (no responder
// named, network error, HTTP error, timeout, status unknown), never a lie:
// a revoked status and an invalid, stale or unauthorized answer reject in
// every mode. Temporary(err) is true only for ErrRevocationUnavailable.
//
// # How it fails
//
// Every error wraps one of the package's sentinels (ErrExpired,
// ErrNotYetValid, ErrNotTrusted, ErrRevoked, ErrKeyUsage, ErrWeakKey,
// ErrWeakAlgorithm, ErrRevocationUnavailable, ErrBadOCSPResponse,
// ErrOCSPSigner, ErrBadCRL, ErrKeyFilePermissions, ErrKeyMismatch,
// ErrBadPassword, ErrBadKeystore, ...), so callers decide with errors.Is.
// Validate stops at the first failed check and returns a Result filled up
// to it, for the verification report (Prüfvermerk).
package certs
