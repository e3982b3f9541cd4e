// Package egvp implements the EGVP/beBPo conventions on top of
// OSCI-Transport 1.2 content: how EGVP clients lay out a message in
// ContentContainers, and how a receiver reads, verifies and reports it.
//
// Outgoing (Builder.Build): container project_coco with the inline forms
// herstellerinformation.xml, nachricht.xml (Nachrichtentyp, Signaturniveau
// "no", Empfaengerkennung, Betreff, Aktenzeichen_Empfaenger,
// Aktenzeichen_Absender, Freitext) and visitenkarte.xml (Rollen_ID
// egvp_bebpo), plus one Content href="cid:<name>" per document, whose
// Content-ID is the ERVB-safe file name (SafeName, UniqueNames); container
// govello_coco with additional_infos (Java properties: user_id,
// signature_level=no, subject). Both containers are encrypted with
// AES-256-GCM to the addressee's cipher certificate, which is also named as
// further reader, as EGVP clients do; each document is its own attachment,
// encrypted as a stream under its own key (ds:MgmtData inside the encrypted
// container) into a spool file, never held whole in memory. With
// Builder.Signature set, both containers carry the originator's content
// signature, made with Builder.SignatureAlgorithm (default rsa-sha256, as
// current EGVP clients sign; see package osci) (Content Ids are the ERVB file names, e.g. "001_Antrag.pdf",
// which osci/xmlsec admits as references); a container holding a Content
// Id that is not a plain name goes unsigned and Package.Warnings says so. The OSCI Subject is the EGVP message type; the user's subject
// goes into Betreff. The nachricht.xsl/visitenkarte.xsl stylesheets are not
// written. An eEB request travels only in the XJustiz record the submitter
// attaches (ruecksendungEEB.erforderlich); the builder does not alter it.
//
// Incoming (Reader.Read): the content package of a verified fetchDelivery
// response is decrypted with our cipher key, every content signature is
// verified and its certificate validated through certs, nachricht.xml,
// visitenkarte.xml, herstellerinformation.xml and additional_infos are
// parsed with xmlsec.Parse, and xjustiz_nachricht.xml gives the XJustiz
// message id (nachrichtenkopf/eigeneNachrichtenID; 2.x
// eigene_Nachrichten_ID) and the eEB request. Documents are decrypted to
// files (nothing before the GCM tag verified) with size and SHA-256.
//
// Trust is per use (Reader.Trust, certs.TrustSets): content signatures and
// a transport signature that is not a VHN are checked against the
// content-signer set only, the VHN against the VHN set only; neither
// vouches for the other, and neither sees the intermediary's pins or the
// recipients' cipher certificates.
//
// Sender identity (Report.Sender) is kept in two parts that are never
// mixed. Confirmed holds only what the sender's transport signature
// certificate says, and only when that certificate is valid in one of the
// two sets and the intermediary inspected the signature made with it as
// intact: the SAFE-ID from its subject UID, the beBPo role when it is a
// VHN certificate, its subject and issuer. Claimed is what the sender
// wrote about itself (the business card and additional_infos user_id),
// shown as such and never as confirmed. A claimed SAFE-ID that differs
// from the confirmed one, and a claim that the optional SenderDirectory
// contradicts (name, organisation, role, cipher certificate), are
// Conflicts: the verdict is invalid with ReasonSenderMismatch.
//
// The VHN mark (Report.VHNPresent) is given only when the transport
// signature certificate is valid in the VHN set, the intermediary found
// the signature intact, the certificate names a SAFE-ID, the message
// claims a sender and every claimed SAFE-ID equals it, and nothing
// conflicts. A VHN certificate without a UID, a VHN look-alike from
// another CA, or a message claiming no sender gets no VHN: the check fails
// closed, it is never skipped.
//
// Coverage (Report.Contents): every Content of every container is listed
// with the verified content signatures that cover it, its Id and, for an
// attachment, its octets. A content without an Id, or in a container
// without verified signatures, is unsigned; documents carry the same
// status (ReceivedDocument.Signed).
//
// Verdict (Report.Verdict) is the one rule for the overall result, which
// the mailbox stores and never recomputes: invalid on a sender conflict, a
// recorded problem, a corrupted signature or an invalid certificate;
// indeterminate without any signature, with a check that had no result,
// or while anything delivered (documents, forms) is unsigned; valid only
// otherwise.
//
// Failure contract: a delivery that fails decryption or any verification is
// still returned, with every failure in Report (Problems, Conflicts, or a
// SignatureCheck with integrity corrupted/indeterminate or certificate
// invalid); Read returns an error only when it cannot write the output
// directory or the Reader lacks its cipher key or content-signer
// validator. ErrInvalid, ErrTooLarge, ErrNoContent and ErrNotListed are
// the sentinels.
//
// Not implemented: detached document signatures (.p7s/.pkcs7 files are
// passed on as documents, not checked), nested containers, the EGVP
// stylesheets, SAFE look-ups.
package egvp
