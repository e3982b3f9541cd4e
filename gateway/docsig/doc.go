// Package docsig verifies signatures on documents, as opposed to the
// OSCI transport and content signatures: detached CMS signatures
// (Klage_<uuid>.pdf.p7s beside Klage_<uuid>.pdf) and signatures embedded
// in PDF files (signature fields whose value has /ByteRange and
// /Contents). Each signature becomes a Result that the Prüfprotokoll
// shows beside the transport signatures (Result.SignatureCheck, Kind
// "document").
//
// # What it implements
//
// CMS SignedData (RFC 5652) in DER, detached, one or more signers
// identified by issuer and serial number or by subject key identifier;
// digests SHA-256, SHA-384, SHA-512; signatures RSA PKCS#1 v1.5,
// RSASSA-PSS and ECDSA; with signed attributes (contentType id-data and
// messageDigest required, signingTime read) or without. PDF signatures
// with /SubFilter adbe.pkcs7.detached and ETSI.CAdES.detached. QCStatements
// (ETSI EN 319 412-5: QcCompliance, QcSSCD, QcType) say whether the
// certificate is qualified.
//
// Not implemented: signature timestamps, long-term validation material
// (DSS, embedded OCSP/CRL), ESS signing-certificate attributes, BER
// indefinite-length encodings, signatures that enclose their content,
// adbe.x509.rsa_sha1 and document timestamps (ETSI.RFC3161), encrypted
// PDFs. These give ErrUnsupported, never a valid result.
//
// # Guarantee
//
// A Result is valid (Err nil) only when all of these hold: the signed
// bytes' digest equals the signed messageDigest (or, without signed
// attributes, the signature is over that digest); the signature value
// verifies with the key of the certificate the signer identifier names,
// among the certificates the signature carries; that certificate
// validates for PurposeSignature with the content-signer trust set
// (certs.UseContentSigner: trust only from configured CAs or pins, never
// from certificates in the signature, which serve as path hints) at the
// validator's clock, revocation as its policy says; and the claimed
// signing time, if any, lies inside the certificate's validity and not in
// the future. For a PDF the /ByteRange must start at 0 and leave out
// exactly the /Contents string; WholeFile says whether it reaches the end
// of the file (false: later incremental updates are not signed, and the
// Prüfprotokoll says so). Qualification is reported only for a valid
// certificate; an untrusted issuer's claim to be qualified is not shown.
// Documents are streamed through the digests, never held in memory.
//
// # How it fails
//
// Result.Err wraps one sentinel: ErrMalformed (not a CMS structure, a
// missing required attribute), ErrUnsupported, ErrWeakAlgorithm (SHA-1,
// MD5), ErrNoSigner (the signer's certificate is not in the signature),
// ErrSignatureInvalid (the value does not verify: forged, or a substituted
// certificate), ErrDigestMismatch (the document was altered, or the
// signature is over other content), ErrByteRange, ErrSigningTime,
// ErrCertificate (with the certs sentinel: certs.ErrExpired,
// certs.ErrNotTrusted, certs.ErrKeyUsage, certs.ErrRevoked, ...),
// ErrTooLarge, or ErrNoDocument (MissingDocument: a .p7s whose document
// is not in the message). Integrity and CertValidity map them to the Prüfprotokoll's
// ok/corrupted/indeterminate and valid/invalid/indeterminate: an
// untrusted issuer or unknown revocation is indeterminate, not invalid.
// Result.Status is the signature's own result (invalid: altered, forged,
// or an invalid certificate; indeterminate: not decidable), and Summary
// the worst over a message's document signatures with its German text;
// what a broken one does to the message is the caller's policy (the OSCI
// bridge delivers it with the result shown unless the mailbox says
// otherwise). VerifyDetachedReader reads a signature file only up to
// Limits.MaxSignatureBytes.
// VerifyPDF returns an error only for a PDF that cannot be read; New
// refuses a validator of another trust set (ErrConfig).
package docsig
