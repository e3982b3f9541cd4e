// Package osci is the OSCI-Transport 1.2 codec of the gateway: MIME framing,
// message builders and parsers, ControlBlock and dialog rules, feedback and
// fault codes, process cards (Laufzettel), message signatures and transport
// encryption. It speaks the wire format of the reference library (Governikus
// OSCI library 2.4.1) byte for byte where bytes matter.
//
// # Specification
//
// OSCI-Transport 1.2 with integrated corrigenda (KoSIT, 2021), in the
// passive-addressee (Postfach) scenario EGVP and beBPo use.
//
// # Implemented
//
//   - MIME Multipart/Related with the MIME headers at the start of the HTTP
//     body (MIMEWriter, MIMEReader, ReadEntity, WriteEntity): CRLF framing,
//     boundary "MIME_boundary_" + base64 of 24 random bytes, the SOAP part
//     <osci@message>, attachments as 8-bit/binary parts with Content-Length;
//     base64 and text/base64 parts are read too. Reading streams part by
//     part under MIMELimits; attachments go to an AttachmentSink and are
//     never held whole in memory. Parts end at the boundary, not at the
//     declared Content-Length (the library declares a wrong one on the
//     transport-encrypted envelope).
//   - Messages (Message, Envelope, Parse): initDialog, exitDialog,
//     getMessageId, storeDelivery, fetchDelivery, fetchProcessCard and their
//     responses, and SOAP faults (FaultEnvelope). Prefixes soap, osci, ds,
//     xenc, xsi; header order, Ids and xsi:schemaLocation strings as the
//     library writes them. Every header block and the body are written in
//     inclusive C14N form with the five namespaces redeclared, so a block's
//     digest is the SHA-256 of its bytes. Dispatch is by exact schemaLocation.
//   - ControlBlock presence rules per type, the client's dialog state machine
//     (Dialog: implicit and explicit dialogs, challenge = base64 of 10 random
//     bytes) and the supplier's checks (SupplierDialog, CheckImplicit).
//   - Feedback and faults as typed errors (FeedbackError, FaultError) that
//     say whether they are temporary; IsAmbiguous for outcomes that leave
//     open whether an order was executed.
//   - Process cards (ProcessCardBundle) with plain and cryptographic
//     timestamps and inspection reports.
//   - Message signatures (Client/SupplierSignature; Sign, Verify) through
//     package xmlsec: SHA-256 digests, inclusive C14N, KeyInfo by
//     RetrievalMethod to the signature certificate in the message. The
//     signature method is a parameter (xmlsec.SignatureAlgorithm:
//     ClientConfig.SignatureAlgorithm for our orders, Signer.Algorithm for
//     any signature, egvp.Builder for content signatures): rsa-sha256,
//     rsa-pss-sha256, rsa-sha512 or rsa-pss-sha512, all four accepted on
//     verification. The default is rsa-sha256 (PKCS#1 v1.5): the reference
//     library 2.4.1 writes it by default, and every message we hold from
//     current EGVP software carries it (the library's own requests and the
//     intermediary signatures of both stored EGVP messages); RSA-PSS
//     (sha256-rsa-MGF1, salt 32) is accepted by the library and seen from
//     intermediaries, so a mailbox may choose it.
//   - Transport encryption (soapMessageEncrypted; EncryptEntity,
//     DecryptEntity) through package xmlenc: AES-256-GCM with a 12-byte IV
//     (16 accepted when IvLength is absent), RSA-OAEP SHA-256/MGF1-SHA256,
//     ciphertext streamed in the cid:osci_enc part.
//   - The content layer (PackageBuilder, OpenContentPackage): ContentContainers
//     with inline, attachment and nested Content; content signatures by the
//     originator or an author; EncryptedData for the addressee and further
//     readers (EncryptedKey per reader, named by RetrievalMethod); encrypted
//     attachments with their own keys in ds:MgmtData (EncryptAttachment,
//     ReadContainer.DecryptAttachment), streamed, no plaintext before the tag.
//     A content signature's "cid:" reference digests the attachment's
//     plaintext, also when it travels encrypted; only the transport
//     signature digests the ciphertext. That is what the reference library
//     signs and verifies (ContentContainer.sign takes the digest of
//     Attachment.getDigestValue, computed over the data before encryption;
//     on reading, the attachment is decrypted with the key from MgmtData
//     before it is digested), so both sides verify each other.
//
// # Not implemented
//
// forwardDelivery, mediateDelivery, acceptDelivery, processDelivery and the
// osci2017 partial (chunked) messages are recognised by schemaLocation and
// refused with ErrUnsupportedType. Cryptographic timestamps are carried, not
// checked. CBC and rsa-1_5 are refused. Our content signatures reference
// inline content with C14N rather than the xmldsig#base64 transform the
// reference library writes (both verify).
//
// # Client
//
// Client (client.go, session.go) sends the orders of one mailbox identity
// over HTTPS (plain http only to a loopback host or with
// ClientConfig.AllowInsecureHTTP; otherwise NewClient fails with
// ErrInsecureURL) with go-retryablehttp: every order signed and transport-encrypted,
// every response decrypted, its SupplierSignature verified (only the signed
// octets are returned), its ControlBlock echo checked, its feedback mapped to
// errors. Retried are only requests that provably did not reach the
// intermediary (dial, DNS and TLS handshake failures; 429 and 503, waiting
// Retry-After capped at RetryWaitMax with jitter). Anything else that fails
// after the request went out is a *TransportError at StageSent: IsAmbiguous.
//
// Only a verified, signed feedback refuses an order (*FeedbackError). Any
// other answer leaves the outcome unknown: a SOAP fault (faults are never
// signed, so anyone on the path can write one after the intermediary has
// executed a store) and a response whose SupplierSignature is missing or
// wrong are an *UnverifiedError (ErrUnverified), ambiguous and temporary
// whatever code they carry, for every order type. An unknown outcome is
// settled by the process card (StoreDeliveryResolved does it for a store),
// never by sending again; a fault's code is believed only once a verified
// answer showed that nothing was stored. A
// Session hands out one delivery at a time and sends nothing more (not even
// exitDialog) until Acknowledge, because the next order in the dialog is what
// acknowledges the reception to the intermediary. A fetchDelivery response
// that arrives whole (status 200, the body read to its end) but cannot be
// read (parsing, transport decryption, a limit or its signature check
// fail on what it holds) leaves the Session resumable:
// ResumeUnreadable reads only that response's ControlBlock, streamed, and
// checks it as every response's is; since it must return the Challenge of
// our encrypted order, only the intermediary's own response resumes the
// dialog, and the next order then acknowledges the delivery, which the
// caller keeps as received. Client.ReadDelivery reads such a kept response
// again later, offline: transport decryption, the intermediary's signature
// verified, the selection checked. The simulator lives in package
// osci/intermediary.
//
// # How it fails
//
// Parse errors wrap ErrNotOSCI, ErrUnknownType, ErrUnsupportedType (a
// supplier answers 9100) or ErrInvalidOrder, ErrBadMessageID,
// ErrBadTimestamp, ErrCertificate (9300) or ErrControlBlock (9400);
// FaultCode maps an error to the code to answer. Limits give ErrLimit.
// Supplier feedback 9xxx becomes *FeedbackError and SOAP faults *FaultError
// (inside an *UnverifiedError when the client receives one); both match
// sentinels of the same code with errors.Is and answer Temporary.
// Nothing read from a message is trustworthy before Verify returned it.
package osci
