// Package xmlsec is the one place where the gateway parses XML,
// canonicalizes it and signs or verifies XML signatures. It knows no OSCI;
// the osci package decides which parts must be signed and where they sit.
//
// # Parsing
//
// Parse and ParseBytes are the only XML parsers the gateway uses. One pass
// of the package's own XML 1.0 reader checks every rule and Limits field on
// each token before the token joins the github.com/beevik/etree tree, so
// no tree ever exceeds the limits and a rejected input leaves nothing
// behind; input is read through a size cap. It builds the tree the former
// encoding/xml path built, node for node (a differential test and fuzz
// target hold it to that), and refuses what that path refused; in
// addition it refuses attributes without whitespace between them and
// character references to surrogates, which encoding/xml let through. Refused, each with its own error: any DOCTYPE or other
// declaration (ErrDoctype, so no DTD, external or internal entity),
// processing instructions other than the XML declaration (ErrProcInst,
// unless Limits.AllowProcInst), duplicate attributes by qualified or
// expanded name (ErrDuplicateAttr), undeclared prefixes
// (ErrUndeclaredPrefix), illegal namespace declarations such as
// xmlns:p="" or rebinding xml/xmlns (ErrBadNamespace), a second root or
// text outside the root (ErrMultipleRoots), no root (ErrNoRoot), anything
// but UTF-8 (ErrEncoding), other malformed input, characters XML 1.0 does
// not allow included (ErrSyntax), and inputs beyond MaxBytes, MaxDepth,
// MaxElements, MaxAttributes or MaxNamespaceDecls. Line ends and literal
// whitespace in attribute values are normalized as XML 1.0 requires, so
// the canonical form matches libxml2. The tree shares no memory with the
// input; its texts and attribute values are cut from shared string blocks
// of at most 16 KiB, so a value kept after the tree is dropped keeps its
// block alive.
//
// # Canonicalization
//
// Canonical XML 1.0 (C14N10) and Exclusive XML Canonicalization 1.0
// (ExcC14N10, with the InclusiveNamespaces PrefixList), both without
// comments, for a document or for an element in the namespace context of
// its ancestors (inclusive: all in-scope namespaces and inherited xml:*
// attributes on the apex; exclusive: visibly utilized namespaces only).
// Attributes are ordered by namespace URI, then local name. This
// canonicalizer is our own: goxmldsig v1.6.1's inclusive C14N orders
// prefixed attributes by local name and prefix instead of namespace URI
// when the namespaces are declared on an ancestor, and renders xmlns:xml;
// its exclusive and 1.1 paths ignore ancestors and cap documents at 1000
// nodes. goxmldsig supplies the algorithm identifiers and serves as a
// cross-check in tests (it must agree with us everywhere except on those
// corpus documents); the differential test runs every corpus document in
// testdata/c14n through xmllint --c14n and --exc-c14n. Not implemented:
// the WithComments variants, C14N 1.1, XPath node-sets.
//
// # Signatures
//
// Sign writes one ds:Signature with any number of References: "#Id"
// (canonicalized with the C14N transform; enveloped-signature is added
// when the element contains the signature) and "cid:Content-ID" (digest
// over the attachment octets, read as a stream, or taken from the resolver
// when it hands them over WithKnownDigest: a digest the caller computed
// while it wrote the octets, trusted as they are). Signature methods are the
// values of SignatureAlgorithm, the one table both signing and verifying
// read, named in configuration as "rsa-sha256" (the zero value),
// "rsa-sha512", "rsa-pss-sha256" and "rsa-pss-sha512" (RSASSA-PSS,
// xmldsig-more#sha256-rsa-MGF1 and #sha512-rsa-MGF1, with MGF1 of the same
// hash and salt length = hash length); digests SHA-256 and SHA-512. KeyInfo is X509Data or, as OSCI
// writes it, a RetrievalMethod to a certificate element elsewhere in the
// message. Own keys below 3072 bits are refused. The canonical octets of
// an "#Id" reference go into its digest as they are produced: signing
// holds no copy of them, verifying exactly one (VerifiedReference.Canonical).
//
// # Base64
//
// NewBase64Writer and EncodeBase64 are the one base64 line rule of the osci
// packages: lines of 76 characters, each full line followed by the line
// end, the last one too, as the reference library writes base64 in XML
// (LF there; package osci passes CRLF for MIME bodies).
//
// Verify takes a VerifyPolicy and, in this order: indexes identifiers
// (unqualified Id, ID, id and xml:id share one value space; any repeated
// value is ErrDuplicateID), checks the Signature's shape (exactly
// SignedInfo, SignatureValue, optional KeyInfo; no Object or Manifest),
// checks the canonicalization and signature method against the policy,
// lets the policy's KeySelector choose the signer among the certificates
// KeyInfo points at (they never add trust), verifies the SignedInfo
// signature, re-parses the signed SignedInfo octets and takes the
// References only from that copy, then digests each target and compares
// in constant time. It returns a Verified value holding the signer, the
// certificate verdict and, per reference, the URI, algorithm, digest, the
// signed octets, the path where the signed element sat, and (Element) a
// fresh copy re-parsed from exactly those octets; the input tree is never
// handed on. VerifySignedInfo stops after the SignedInfo signature
// and lets the caller check references one by one.
//
// Accepted on verification: for "#Id" references an optional
// enveloped-signature transform first, then C14N10 or ExcC14N10 (no
// transform means C14N10), or the base64 transform alone (OSCI content
// signatures over osci:Base64Content); "cid:" references take no
// transform. KeyInfo offers certificates through X509Data/X509Certificate
// and RetrievalMethod (local "#Id", Type X509Data or absent); KeyValue,
// KeyName and the rest are ignored. The selector's first accepted
// certificate is the only one tried.
//
// Refused on verification: SHA-1, MD5, HMAC, ECDSA and any algorithm not in
// the policy (ErrAlgorithmNotAllowed); XPath, XPath Filter 2, XSLT, C14N
// 1.1 and WithComments transforms; more than two transforms, or base64
// other than as the sole transform; URIs other than "#Id" and "cid:",
// including http:, file:, XPointer and "" unless AllowWholeDocument
// (ErrURINotAllowed); a second Reference to the same URI
// (ErrDuplicateReference); a referenced element that contains the
// signature without the enveloped-signature transform, or lies inside it
// (ErrMalformedSignature); required URIs not signed (ErrMissingReference);
// signed elements away from the path the policy names (ErrMisplaced);
// canonical output beyond MaxCanonicalBytes (ErrCanonicalizationLimit);
// RSA keys below MinRSABits (ErrWeakKey). A KeySelector refusal is
// ErrUntrustedKey, wrapping the certs error.
//
// Verify, VerifySignedInfo and the canonicalizers only read the tree, so
// one parsed document may be verified from several goroutines; Sign
// modifies it (and removes its half-built signature on error).
//
// Write signed documents with Serialize: etree's default writer leaves
// tabs and newlines in attribute values and carriage returns in text
// unescaped, which a re-parse would normalize and so break the digest.
package xmlsec
