// Package checkresult names the outcomes of a check as OSCI's Inspection
// and the EGVP Prüfprotokoll write them. It is the one vocabulary of the
// verification report of a delivery, the Prüfprotokoll, the document
// signature check and the filing record: every outcome shown or stored is
// one of these words.
//
// Guarantee: the words are fixed (they are stored and printed); nothing in
// this package can fail.
package checkresult
