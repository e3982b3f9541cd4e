// Package egvp implements the EGVP/beBPo conventions on top of
// OSCI-Transport 1.2 content: how EGVP clients lay out a message in
// ContentContainers, and how a receiver reads, verifies and reports it.
//
// Outgoing (Builder.Build): container project_coco with the inline forms
// herstellerinformation.xml, nachricht.xml (Nachrichtentyp, Signaturniveau
// "no", Empfaengerkennung, Betreff, Aktenzeichen_Empfaenger,
// Aktenzeichen_Absender, Freitext) and visitenkarte.xml (Rollen_ID
// egvp_bebpo), plus one Content href="cid:<name>" per document, whose
// Content Id and Content-ID is the document's name exactly as the
// submission validated it (the one ERVB file-name rule lives in package
// mailbox); Build checks only that each name can serve as a Content Id
// (xmlsec.ReferenceableID), is none of the package's reserved Ids and
// equals no other without regard to case, and refuses the message
// (ErrInvalid) otherwise, never renaming. Container govello_coco holds
// additional_infos (Java properties: user_id, signature_level=no,
// subject). Both containers are encrypted with AES-256-GCM to the
// addressee's cipher certificate, which is also named as further reader,
// as EGVP clients do; each document is its own attachment, encrypted as a
// stream under its own key (ds:MgmtData inside the encrypted container)
// into a spool file, never held whole in memory. With Builder.Signature
// set, both containers carry the originator's content signature, made
// with Builder.SignatureAlgorithm (default rsa-sha256, as current EGVP
// clients sign; see package osci); its reference to an attachment digests
// the document's plaintext, as the reference library signs and verifies
// it. The OSCI Subject is the EGVP message type; the user's subject goes
// into Betreff. The nachricht.xsl/visitenkarte.xsl stylesheets are not
// written. An eEB request travels only in the XJustiz record the submitter
// attaches (ruecksendungEEB.erforderlich); the builder does not alter it.
//
// Incoming (Reader.Read): the content package of a verified fetchDelivery
// response is decrypted with our cipher key and every content signature
// is verified (a reference to an attachment encrypted under a key in its
// container against the decrypted octets, as the reference library does)
// and its certificate validated through certs. Delivery follows the
// signatures: every container becomes documents. A message with a
// project_coco is read as EGVP: nachricht.xml, visitenkarte.xml,
// herstellerinformation.xml and additional_infos are parsed with
// xmlsec.Parse, and xjustiz_nachricht.xml gives the XJustiz message id
// (nachrichtenkopf/eigeneNachrichtenID; 2.x eigene_Nachrichten_ID) and the
// eEB request. Any other container, and every container of a message
// without project_coco (OSCI applications that do not write the EGVP
// structure, such as the reference library's samples), is read as plain
// OSCI content: every attachment a document under its Content-ID, every
// inline content a document under its Id (".txt" added to a text without
// extension, ".bin" to other data), and the report notes NoteNotEGVP
// ("keine EGVP-Nachricht"). A container that travelled only
// transport-encrypted, as OSCI-Transport allows, is read and noted
// (NoteNotEndToEnd, "Inhalt nicht Ende-zu-Ende verschlüsselt"); a mailbox
// that requires end-to-end encryption (Reader.RequireEndToEnd) gets a
// policy verdict instead (ReasonPolicyEndToEnd). Notes never change the
// verdict. Documents are decrypted to files under neutral names (nothing
// before the GCM tag verified), with size and SHA-256; their names are
// the sender's, unchanged, as metadata (ReceivedDocument.Name): making
// file names of them is the intake's one rule.
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
// with what covers it, so that each delivered document says how it is
// vouched for (ContentCheck.Coverage, ReceivedDocument.Coverage):
//
//   - CoverContent: the container carries content signatures, and every
//     verified one references the Content's Id and, for an attachment, its
//     octets; SignedBy names their certificates. In a container with
//     content signatures nothing else covers: a Content without an Id, or
//     one the signatures do not reference, is unsigned, and a container
//     whose signatures do not verify covers nothing.
//   - CoverTransport: the container carries no content signature at all
//     (real EGVP and beBPo messages carry none), and the sender's transport
//     signature covers it: its ClientSignature covers the whole
//     storeDelivery, every container and attachment included, the
//     intermediary inspected it as intact (Inspection MathResult ok for the
//     sender's signature certificate), and the response that carried it is
//     one whose intermediary signature we verified. SignedBy names the
//     sender's transport certificate. Without that inspection, or with one
//     that found it corrupted, the container is unsigned.
//
// Certificate validity: a signature's certificate that is expired, not yet
// valid, revoked, of the wrong key usage, weak, or badly signed is
// invalid. One that merely does not chain to a configured CA (a court's
// self-signed EGVP certificate, a CA the operator has not configured), or
// whose revocation status could not be had, is indeterminate: the
// signer's identity is unconfirmed, nothing about it is Confirmed, but
// the message is not called invalid for it.
//
// Verdict (Report.Verdict) is the one rule for the overall result, which
// the mailbox stores and never recomputes; first match wins, and each
// reason is its own code and German text: invalid with
// ReasonSenderMismatch (a claim contradicts a certificate or the
// directory), ReasonSignatureInvalid (a signature is corrupted, or the
// intermediary found one so), ReasonCertificateInvalid (a certificate is
// invalid, or the intermediary found one so), ReasonFormatUnreadable (a
// part of the delivery could not be decrypted or read), ReasonPolicyEndToEnd
// (the mailbox's policy); indeterminate with ReasonNoSignature,
// ReasonCheckIndeterminate (a check without result, an unconfirmed
// certificate) or ReasonUnsignedContent (anything delivered that nothing
// covers); valid only otherwise. An invalid verdict quarantines the
// message with its reason; an indeterminate one is delivered as such.
//
// Failure contract: a delivery that fails decryption or any verification is
// still returned, with every failure in Report (Problems, Inspections,
// Policy, Conflicts, or a SignatureCheck with integrity
// corrupted/indeterminate or certificate invalid/indeterminate). Read
// returns an error only when the delivery was not read: it cannot write
// the output directory, the Reader lacks its cipher key or content-signer
// validator, or the delivery exceeds Reader.Limits (ErrTooLarge), which
// guard our disk; a caller keeps the delivery as received and reads it
// again with higher limits. ErrInvalid, ErrTooLarge and ErrNotListed are
// the sentinels.
//
// Not implemented: detached document signatures (.p7s/.pkcs7 files are
// passed on as documents, not checked), nested containers (listed as not
// read, a problem: ReasonFormatUnreadable), the EGVP
// stylesheets, SAFE look-ups.
package egvp
