// Package xmltext holds the one rule for which text XML 1.0 can carry as
// character data, shared by every writer of XML in the module (the EGVP
// forms, the XJustiz records, the xdomea archives), so that a value one of
// them refuses none of the others writes, and the one end-of-line rule
// (CRLF and lone CR become LF) for the parser and for readers that keep a
// value's line breaks. Nothing here fails.
package xmltext
