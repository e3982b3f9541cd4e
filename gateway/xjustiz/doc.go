// Package xjustiz builds, validates and reads the XJustiz records the
// legal office exchanges with courts: the structured data set
// xjustiz_nachricht.xml of a filing
// (nachricht.gds.uebermittlungSchriftgutobjekte.0005005, §2 Abs. 3 ERVV)
// and the answer to an eEB request
// (nachricht.eeb.zuruecklaufend.2200007, elektronisches
// Empfangsbekenntnis).
//
// Schema generations: the XJustiz schemas and the code list
// GDS.Dokumentklasse are embedded per generation (schema/<version>/, see
// its README for source and terms). Options.Generation selects the
// generation records are built in ("3.5.1"); a new XJustiz version
// becomes valid every 30 April and is one more entry in the generation
// table beside the old one. Received records are validated against the
// generation their xjustizVersion declares, if this build carries it.
//
// Guarantee: every record BuildSubmission and BuildEEB return has been
// validated with libxml2's XML Schema validator (gateway/internal/xsd)
// against the generation's schemas, and eEB answers also against
// SCH-EEB-0001 (fremdeNachrichtenID exactly once); an invalid record is
// never returned. A submission without a court is refused
// (ErrMissingCourt) before anything is built. Each document gets a UUID
// (identifikation) that its file name carries (Klage.pdf travels as
// Klage_<uuid>.pdf, its detached signature as Klage_<uuid>.pdf.p7s, both
// within the ERVB's 90 characters); Built says under which names the
// files must be sent. The clock and the random source are injected, so
// the same input, time and randomness give the same bytes.
//
// What is read is bounded: a record is parsed by osci/xmlsec (no
// DOCTYPE, limits on size, depth, elements and attributes) and by
// libxml2 without network, file access or entity substitution, within
// Limits (size, number of documents, messages kept). Read returns the
// fields of a received record even when it is not schema-valid (a court's
// filing is never dropped for its data set) and says in
// Record.Validation why it is not.
//
// Failure: every error wraps one prefixed sentinel (xjustiz: ...);
// validation failures are a *ValidationError carrying the validator's own
// messages with line numbers, for the user. All failures are permanent:
// the same input fails the same way again.
package xjustiz
