// Package pdf reads the structure of a PDF file, bounded and on demand,
// for the checks that must look inside documents (ERVB pre-flight,
// document signatures). It does not render, decrypt or repair.
//
// # What it reads
//
// The %PDF- header at byte 0; the cross-reference chain from the last
// startxref: classic tables, cross-reference streams (PDF 1.5), hybrid
// files (/XRefStm), incremental updates and linearized files (/Prev),
// newest entry first; indirect objects at the offsets the cross-reference
// gives (the object number must match), and objects inside object streams
// (FlateDecode with PNG/TIFF predictors). Stream data other than object
// and cross-reference streams is located (offset, length, checked against
// endstream) but never decoded. Strings keep their file offsets, so a
// signature's /Contents can be matched against its /ByteRange.
//
// # Guarantee and how it fails
//
// Open reads only the header, the tail and the cross-reference sections;
// Object and Each parse one object at a time through a bounded buffer.
// Every cost is bounded by Limits (objects, bytes per object, nesting,
// sections, decoded bytes per stream and per file): exceeding one is
// ErrLimit, never a large allocation. A file without the header is
// ErrNotPDF; a cross-reference that does not lead to the objects it
// promises is ErrXref; malformed syntax is ErrSyntax; a filter or
// predictor it does not read is ErrUnsupported. It never panics on any
// input (FuzzOpen). Objects that the cross-reference does not list are
// not seen: a reader that trusts the same cross-reference does not see
// them either, and a file whose cross-reference is broken (the case where
// readers start repairing) is refused rather than repaired.
package pdf
