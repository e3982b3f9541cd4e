// Package routing decides which intake receives a message: each mailbox
// has an ordered table of rules, each rule matching on the sender's court
// code (GDS.Gerichte), the sender's SAFE-ID, the recipient's case number
// (Aktenzeichen des Empfängers, a regular expression) and the message
// type (an eEB request, a Wettbewerbsregister answer, or an ordinary
// message). The first rule whose every given criterion matches names the
// intake; when none matches, the mailbox's default intake does.
//
// Guarantee: Route is a pure function of the table and the message and
// always returns an intake and the rule that chose it ("default" when no
// rule matched), so every delivery can record why it went where it went.
// A table is built only from rules that passed Check: every criterion
// well formed, the case-number pattern an anchored RE2 expression of at
// most MaxPatternLen bytes (RE2 runs in time linear in the input, so no
// pattern can stall delivery), every intake known. Compile returns every
// problem at once, each naming its field.
//
// What the rules see: the sender is the SAFE-ID its verified certificate
// confirms, or, only where nothing confirmed one, the SAFE-ID its business
// card claims; the court code is the address book's entry for that
// SAFE-ID. Routing never decides whether a message is delivered: a
// quarantined message reaches no rule.
package routing
