// Package ervb is the pre-flight of a message to a court under the
// ERVB (Elektronischer-Rechtsverkehr-Bekanntmachung): before anything is
// queued, Checker.Check looks at every file of the message, by name and
// by content, and returns every finding at once.
//
// # What it checks
//
//   - The message: at most Limits.MaxFiles files (1,000) and Limits.MaxBytes
//     bytes together (200 MB), counted from the content actually read.
//   - Names: the ERVB file name rule of package mailbox (ValidFileName),
//     and no two names that FileNameKey makes equal (case is ignored). A
//     detached signature is named after its document plus ".p7s" (as the
//     justice sample data do) and must belong to a document of the message.
//   - Content, not names: a .pdf must be a PDF (the %PDF- header at byte
//     0, a cross-reference that leads to its objects, object streams
//     included), not encrypted; a .tif/.tiff a TIFF (II*\0 or MM\0*, a
//     first IFD inside the file naming width, length and image data); a
//     .p7s a CMS signature (its validity is CheckSignatures', which needs
//     the trust settings); an .xml only as the XJustiz record
//     xjustiz_nachricht.xml (its schema is the XJustiz validator's).
//     Every other extension (Word, ZIP, programs, text) is refused, and the
//     finding says what the content really is.
//   - PDF risks the ERVB forbids, in every object the cross-reference
//     lists: JavaScript (/JS, /JavaScript, XFA forms), embedded files
//     (/EmbeddedFile(s), /EF, file attachment and rich media annotations),
//     actions that call out (/Launch, /GoToR, /GoToE, /SubmitForm,
//     /ImportData), content loaded from outside (external streams,
//     reference XObjects, URL file specifications). Links (/URI) and
//     fonts without their font program are warnings.
//   - Signatures (Checker.CheckSignatures, with the sending mailbox's
//     docsig.Verifier): every .p7s against its document and every
//     signature inside a PDF. A broken one (document altered after
//     signing, forged value, invalid certificate) refuses the message, so
//     that a court never receives a filing whose signature fails; one
//     without a result here (an issuer outside our trust set, which the
//     court may know) and a PDF signature over an earlier version only are
//     warnings. The signature files are then sent along unchanged.
//
// # Guarantee and how it fails
//
// Every finding names its severity, file, a stable Rule code and a German
// message for the clerk; Findings.Err wraps ErrRefused when one is an
// error, and callers map that to exit code 1 or a problem+json refusal.
// A file the check cannot fully read (beyond pdf.Limits, a filter it does
// not decode on an object stream) is refused (RuleCheckLimit,
// RulePDFUnreadable), never passed unchecked. Files are read in place
// when Open returns an *os.File, otherwise spooled to TempDir and removed;
// PDFs are parsed object by object within the limits, so the 200 MB of a
// message are never in memory. Check returns an error only when it could
// not run (context cancelled, TempDir unusable); the findings are then
// incomplete and must not be taken as a pass.
package ervb
