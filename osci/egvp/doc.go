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
// verified and its certificate validated through certs, the sender's
// signature certificate (for a beBPo: the VHN, vertrauenswürdiger
// Herkunftsnachweis) is validated and matched with the intermediary's
// inspection on the Laufzettel (a VHN certificate's subject UID must name
// the SAFE-ID the message claims), nachricht.xml, visitenkarte.xml,
// herstellerinformation.xml and additional_infos are parsed with
// xmlsec.Parse, and xjustiz_nachricht.xml gives the XJustiz message id
// (nachrichtenkopf/eigeneNachrichtenID; 2.x eigene_Nachrichten_ID) and the
// eEB request. Documents are decrypted to files (nothing before the GCM
// tag verified) with size and SHA-256.
//
// Failure contract: a delivery that fails decryption or any verification is
// still returned, with every failure in Report (Problems, or a
// SignatureCheck with integrity corrupted/indeterminate or certificate
// invalid); Read returns an error only when it cannot write the output
// directory. ErrInvalid, ErrTooLarge and ErrNoContent are the sentinels.
//
// Not implemented: detached document signatures (.p7s/.pkcs7 files are
// passed on as documents, not checked), nested containers, the EGVP
// stylesheets, SAFE look-ups.
package egvp
