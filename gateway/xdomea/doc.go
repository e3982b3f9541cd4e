// Package xdomea hands received messages to a records system in xdomea
// (KoSIT, XÖV), the standard the IT-Planungsrat made binding for the
// exchange of files between authorities, and reads its import
// confirmations back.
//
// Messages: each received message becomes one Abgabe.Abgabe.0401 in the
// configured xdomea version, 3.0.0 (default) or 4.0.0 (schemas and their
// provenance: schema/README.md): a Vorgang with the subject and the
// recipient's case number, one Dokument per delivered document (the
// sender's case number, the sender), the Prüfprotokoll as a Dokument (HTML
// and XML), the original OSCI message as a Dokument, and the gateway's
// intake metadata in the Vorgang's AnwendungsspezifischeErweiterungXML.
// One builder writes both versions from the same values; the generation
// table (schema.go) holds what differs: 3.0.0's Kopf against 4.0.0's XÖV
// nachrichtenkopf (product attributes, a message UUID derived like every
// ID, creation time in milliseconds, leser/autor, message counters), the
// Nachrichtentyp code list version the schema fixes (2.0, 3.0), ID against
// xdomeaUUID, the DokumentOderDokumentMitSchriftstueck wrapper, the
// Kontakt's institution element and where the Dokument's sender (Absender,
// Autor) stands. In 4.0.0 a Kontakt's communication channel needs a code
// from the XÖV Erreichbarkeit list, which the gateway does not assume: the
// sender's SAFE-ID is then carried by the intake metadata only. Intake writes it
// with its primary files as {ProzessID}_Abgabe.Abgabe.0401.zip into a
// folder the records system imports from. The records system answers
// with Abgabe.ImportBestaetigen.0402 files of the same version in a
// folder the gateway watches (Confirmations); a 4.0.0 confirmation's
// message-wide result counts as well as each object's.
//
// Guarantee: Build returns only a message that libxml2's validator
// (gateway/internal/xsd) found valid against the embedded schema of its
// version (absolute schema locations resolved by a fixed table, never
// fetched);
// Intake writes nothing else. The ProzessID and every object ID derive
// from the MessageId, so a repeated hand-over writes the same Abgabe; an
// archive in place is complete (temporary name, fsync, rename, fsync of
// the folder, all inside an os.Root). Intake is idempotent on the MessageId
// as mailbox.Intake requires. A confirmation file is journaled once on
// its message ("filed" or "filing_refused", with the ProzessID and the
// file name) and then moved to erledigt/; one that is invalid or names no Abgabe of this gateway is
// moved to fehlerhaft/ and logged, never dropped silently.
//
// Failure: a message that does not validate is ErrInvalid (a bug, never
// retried into success); disk full is mailbox.ErrDiskFull; a damaged
// archive in place is mailbox.ErrIntakeIncomplete, another message under
// the same MessageId mailbox.ErrIntakeConflict. What the records system
// needs to say and the gateway cannot know (the Dateiformat code list) is
// configuration (Options); the gateway assumes no code.
package xdomea
