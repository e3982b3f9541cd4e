// Package xmltext holds the one rule for which text XML 1.0 can carry as
// character data, shared by every writer of XML in the module (the EGVP
// forms, the XJustiz records, the xdomea archives), so that a value one of
// them refuses none of the others writes. It only answers a question;
// nothing here fails.
package xmltext
