// Package addressbook is the gateway's directory of recipients: beBPo/EGVP
// mailboxes by SAFE-ID with the cipher certificate messages to them are
// encrypted to, the intermediary they live at and, for courts, their code
// in the XJustiz list GDS.Gerichte.
//
// Guarantee: an entry is stored only after every part of it was checked at
// that moment: SAFE-ID and texts; the cipher certificate (algorithm and
// key size by policy, validity, key usage for encryption; PEM or base64
// DER); the court code (in GDS.Gerichte and not dissolved); the
// intermediary (a configured name, or an inline URL with a usable cipher
// certificate and parsable signature certificates). An entry naming no
// intermediary lives at the sending mailbox's own. An entry of an earlier
// version that gives only intermediaryUrl is read as it is and resolves to
// the configured intermediary at that URL; added again, it is stored under
// that name. The configured intermediaries reach the book through
// WithIntermediaries at Open and are replaced with the entries on reload;
// a book opened without them (a tool preparing a data directory) refuses
// every intermediary name and keeps a bare URL for the daemon to resolve.
//
// Every change is one durable file write (temporary file, fsync, rename,
// directory fsync): a crash leaves the old book or the new one, never a
// mix. An import changes the book only when every entry is valid, and an
// entry equal to the stored one is left as it is (not rewritten, UpdatedAt
// kept); a dry run reports the same changes and writes nothing.
//
// Refusals are field.Errors naming the field and the reason (the unknown
// intermediary's name, the certificate's expiry), matching ErrNotFound,
// ErrExists, ErrBadCertificate, ErrUnknownIntermediary or
// ErrUnknownCourt. A certificate held here is a recipient's encryption key
// and nothing else: it never makes a signature trusted. The inline
// intermediary certificates are handed to the send path with the message;
// they are not trusted for anything else either.
package addressbook
