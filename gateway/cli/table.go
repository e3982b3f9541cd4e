package cli

import (
	"flag"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// commands is the one ordered table of the CLI: `bebpo-gateway --help`
// lists it in this order, and every entry answers --help.
func commands() []*Command {
	return []*Command{
		{Name: "run", Summary: "run the gateway daemon", Run: runDaemon,
			Usage: "run --config FILE [options]",
			Help: "Run the gateway: send and fetch for every configured mailbox, hand received messages to the\n" +
				"eAkte intake, serve the admin API and watch the outgoing folder.\n\n" +
				"Signals: SIGHUP reloads the configuration, API tokens, address book, keys and certificates (a\n" +
				"broken file is refused and the running configuration kept); SIGTERM or SIGINT stops claiming\n" +
				"work, lets in-flight work finish within --drain-timeout and exits 0; a second signal exits at once\n" +
				"with status 1 (interrupted work is recovered at the next start).\n\n" +
				"Exit status: 0 stopped cleanly, 1 runtime failure, 2 bad command line, configuration or keys."},
		{Name: "check-config", Summary: "check a configuration file before a start or reload", Run: runCheckConfig,
			Usage: "check-config [--config FILE] [--online] [options]",
			Help: "Check a configuration as the gateway does at start and on SIGHUP, and report every problem at once,\n" +
				"each with its key and line: the file (unknown keys, wrong values), every key and certificate it names\n" +
				"(password, purpose, days left), the secrets, the address book, and that the data, intake and outgoing\n" +
				"folders can be written. --online also asks every intermediary for a message id. Changes nothing.\n" +
				"Run it as the service user (sudo -u bebpo-gateway) to check the permissions the gateway has.\n\n" +
				"Exit status: 0 usable (warnings aside), 1 an intermediary did not answer, 2 the gateway would refuse it."},
		{Name: "send", Summary: "send documents to a recipient through a running gateway", Run: runSend,
			Usage: "send [options] (--to SAFEID | --court CODE) --subject S FILE...",
			Help: "Hand documents to a running gateway for sending. The recipient must be in the address book\n" +
				"unless --recipient-cert gives its cipher certificate. --court sends to the one address book\n" +
				"entry with that court code (GDS.Gerichte); it is refused, naming the candidates, when the\n" +
				"address book holds none or more than one. File names must follow the ERVB rules\n" +
				"(letters incl. umlauts and ß, digits, _ and -, one dot before the extension, at most 90 characters).\n" +
				"Prints the message id; the gateway sends it in the background ('messages show ID' follows it).\n" +
				"With --wait it shows the upload's progress and waits, within --timeout, until the recipient fetched\n" +
				"the message (exit 0) or it failed (exit 1, with the reason). A busy gateway (503) is asked again after\n" +
				"the time it names. Confirmation follows the recipient's intermediary (sending.confirm_first and\n" +
				"sending.confirm_max; see docs/sending-and-keeping.md)."},
		messagesCommand(),
		courtCommand(),
		eebCommand(),
		{Name: "status", Summary: "show whether a running gateway is ready, and its queues", Run: runStatus,
			Usage: "status [options]",
			Help: "Ask a running gateway whether it is ready (store writable, every mailbox polled recently)\n" +
				"and show its mailboxes and message counts. Exit status 1 when it is not ready."},
		{Name: "journal", Summary: "check the audit journal", Subs: []*Command{
			{Name: "verify", Summary: "verify the hash chain of the audit journal and its head", Run: runJournalVerify,
				Usage: "journal verify --data DIR | --config FILE",
				Help: "Check that the journal's entries are contiguous, each carries the SHA-256 of the one before, and\n" +
					"the journal reaches the head kept outside it (gateway.db.journal-head, written with every entry;\n" +
					"on PostgreSQL each gateway's postgres.journal-head, so --config verifies the database against this one's):\n" +
					"entries cut off the end, reordered or edited make it fail, naming the first bad entry.\n" +
					"Compare the head it prints with the heads the gateway logs at start, at stop and every hour."},
			{Name: "reanchor", Summary: "make the journal as it is the reference after its head file was lost", Run: runJournalReanchor,
				Usage: "journal reanchor (--data DIR | --config FILE) --reason TEXT",
				Help: "Write the journal's current head to the file kept outside it, after that file was lost or database\n" +
					"and head file were restored from different backups. Check the journal against the heads the gateway\n" +
					"logged first: this makes the journal as it is now the reference. The gateway must be stopped;\n" +
					"the step is journaled with your user name and the reason. On PostgreSQL give --config: it anchors\n" +
					"this gateway's head file (postgres.journal-head) to the shared database."},
		}},
		migrateCommand(),
		{Name: "backup", Summary: "back up a gateway's data consistently, also while it runs", Run: runBackup,
			Usage: "backup (--config FILE | --data DIR) [options] DIR",
			Help: "Write a consistent backup into DIR (new or empty), also while the gateway runs: the journal head\n" +
				"file, then a snapshot of the database (one committed state), then every document the snapshot keeps\n" +
				"(re-hashed while copied; retention removes none meanwhile), the address book, and last backup.json\n" +
				"with the SHA-256 of each file. Run it as the gateway's user; the files are private (0600).\n" +
				"A gateway on PostgreSQL is refused: back up the database with pg_dump and the shared blob folder\n" +
				"with the site's file backup (docs/several-gateways.md)."},
		{Name: "restore", Summary: "restore a backup into a new or empty data directory", Run: runRestore,
			Usage: "restore --data DIR [options] BACKUP",
			Help: "Restore the backup in BACKUP into the data directory DIR, which must be new or empty (a directory\n" +
				"holding anything is refused). Every file is checked against backup.json; afterwards the journal is\n" +
				"verified against its head and every kept document against its SHA-256, as 'journal verify' does.\n" +
				"Then point data_dir at DIR and start the gateway. Backups of a SQLite store only; a PostgreSQL\n" +
				"database is restored with pg_restore (docs/several-gateways.md)."},
		{Name: "addressbook", Summary: "manage the recipients (SAFE-ID, court, intermediary, cipher certificate) of a running gateway", Subs: []*Command{
			{Name: "list", Summary: "list the recipients", Run: runAddressList,
				Usage: "addressbook list [options]",
				Help:  "List the address book."},
			{Name: "show", Summary: "show one recipient", Run: runAddressShow,
				Usage: "addressbook show [options] SAFEID",
				Help:  "Show one address book entry with its certificate."},
			{Name: "lookup", Summary: "find recipients by SAFE-ID, court code or part of a name", Run: runAddressLookup,
				Usage: "addressbook lookup [options] TEXT",
				Help: "Find recipients by SAFE-ID, court code (e.g. F1100) or any part of the name, organisation or\n" +
					"court name, without regard to case or umlauts (Köln, Koeln and koln are the same). Shows name,\n" +
					"SAFE-ID, court, intermediary and the expiry of the cipher certificate. Exit status 1 when\n" +
					"nothing is found."},
			addressWriteCommand("add", "add a recipient"),
			addressWriteCommand("update", "replace a recipient"),
			{Name: "delete", Summary: "remove a recipient", Run: runAddressDelete,
				Usage: "addressbook delete [options] SAFEID",
				Help:  "Remove a recipient from the address book."},
			{Name: "import", Summary: "add or replace recipients from a JSON or CSV file", Run: runAddressImport,
				Usage: "addressbook import [options] FILE",
				Help: "Add or replace recipients from FILE: JSON (a list of entries, or {\"entries\": [...]}) or CSV\n" +
					"with a header row (" + strings.Join(addressbook.CSVColumns, ",") + "; separated by , or ;\n" +
					"cipherCert holds the PEM as a quoted field, or base64 DER). All entries are checked first; the\n" +
					"address book changes only if all are valid. An entry equal to the stored one is left unchanged.\n" +
					"--dry-run prints what would change and writes nothing."},
		}},
		registerCommand(),
		usersCommand(),
		{Name: "certs", Summary: "inspect and verify certificates and keystores", Subs: []*Command{
			{Name: "inspect", Summary: "show a certificate, certificate file or PKCS#12 keystore", Run: runCertsInspect,
				Usage: "certs inspect [options] FILE",
				Help: "Show subject, issuer, serial, validity, key, key usages, SHA-256 fingerprint and OSCI certificate Id\n" +
					"of each certificate in FILE: PEM, DER or a PKCS#12 keystore (password from a file or variable)."},
			{Name: "verify", Summary: "validate a certificate for signature or cipher use", Run: runCertsVerify,
				Usage: "certs verify --purpose signature|cipher [options] FILE",
				Help: "Validate the first certificate in FILE for a purpose: algorithm and key policy, validity, key usage,\n" +
					"trust (pinned, or a path to a --trust root; further certificates in FILE may serve as intermediates)\n" +
					"and revocation (OCSP, then CRL). Exit 0 when valid, 1 with the reason when not, 2 on usage errors."},
		}},
		{Name: "xml", Summary: "sign, verify, encrypt, decrypt and canonicalize XML", Subs: []*Command{
			{Name: "sign", Summary: "sign elements and attachments with one XML signature", Run: runXMLSign,
				Usage: "xml sign (--p12 FILE --password-file FILE | --key FILE --cert FILE) --ref ID... [options] FILE",
				Help: "Add one ds:Signature covering the elements with the given Id values (C14N 1.0 transform) and\n" +
					"cid:ID attachments (octets from --part ID=FILE). The signature goes into the element with Id\n" +
					"--into, or last into the root. KeyInfo is X509Data, or a RetrievalMethod to --retrieval ID.\n" +
					"Writes the document to stdout or, atomically, to --out."},
			{Name: "verify", Summary: "verify an XML signature against pinned or trusted certificates", Run: runXMLVerify,
				Usage: "xml verify [--trust FILE]... [--pin FILE]... [--require ID]... [options] FILE",
				Help: "Verify the first ds:Signature of FILE (or the one inside the element with Id --signature-in).\n" +
					"The signer must be a --pin certificate or chain to a --trust CA; certificates in the message\n" +
					"only select. Exits 0 when valid, 1 with the reason when not, 2 on usage errors."},
			{Name: "c14n", Summary: "write the canonical form (C14N 1.0, or exclusive) of a document", Run: runXMLC14N,
				Usage: "xml c14n [--exclusive] FILE",
				Help: "Write the canonical form of FILE to stdout: Canonical XML 1.0 without comments, or Exclusive\n" +
					"XML Canonicalization 1.0 without comments with --exclusive. The document passes the gateway's\n" +
					"hardened parser first (no DOCTYPE); processing instructions are allowed here."},
			{Name: "encrypt", Summary: "encrypt an element or the whole document (AES-256-GCM, RSA-OAEP)", Run: runXMLEncrypt,
				Usage: "xml encrypt --cert FILE [--cert FILE...] [--element ID] [--out FILE] FILE",
				Help: "Replace the element with Id ID (default: the root element) by an xenc:EncryptedData of Type Element,\n" +
					"encrypted with AES-256-GCM (12-byte IV) and one RSA-OAEP (SHA-256, MGF1-SHA256) EncryptedKey per\n" +
					"recipient certificate (PEM or DER). Writes the document to stdout or, atomically, to --out."},
			{Name: "decrypt", Summary: "decrypt the EncryptedData of a document with a cipher key", Run: runXMLDecrypt,
				Usage: "xml decrypt (--p12 FILE --password-file FILE | --key FILE) [--part ID=FILE...] [--out FILE] FILE",
				Help: "Decrypt with our cipher key. EncryptedData of Type Element or Content are replaced in place and the\n" +
					"document is written; a single EncryptedData without Type (an OSCI transport or content layer) is\n" +
					"written as its raw plaintext. CipherReferences to cid:ID read the ciphertext from --part ID=FILE.\n" +
					"Nothing is written unless the ciphertext authenticated. Every decryption failure reads the same."},
		}},
		{Name: "simulator", Summary: "run an OSCI intermediary simulator for tests", Run: runSimulator,
			Usage: "simulator [options]",
			Help: "Answer OSCI-Transport 1.2 orders on any path like an intermediary (getMessageId, storeDelivery,\n" +
				"initDialog, fetchDelivery, fetchProcessCard, exitDialog). Mailboxes are keyed by the addressee's\n" +
				"cipher certificate; deliveries are stored under --data as received. It plays one intermediary\n" +
				"with the keys given: run one process per intermediary, each with its own keys, --listen and\n" +
				"--data. State other than the stored files lives in memory. For tests only: the key files are\n" +
				"read whatever their permissions. SIGINT or SIGTERM stops it."},
		{Name: "demo", Summary: "run a self-contained demo: two intermediaries, three mailboxes, a court", Run: runDemo,
			Usage: "demo [options]",
			Help: "Create demo keys and a configuration under --dir (reused when run again), start two OSCI\n" +
				"intermediary simulators (bebpo and justiz-nrw, each with its own keys) and the gateway with\n" +
				"three mailboxes on loopback, send a PDF to a mailbox at the same intermediary and to a court\n" +
				"at the other through the admin API, and show both arriving in the folder intakes and the\n" +
				"court's reception on the process card. Then keep running until Ctrl-C so you can try the API\n" +
				"and the CLI."},
		{Name: "version", Summary: "print the version and build information", Run: runVersion,
			Usage: "version",
			Help:  "Print the version of bebpo-gateway and the Go toolchain that built it."},
	}
}

// messagesCommand lists, shows, downloads and steers messages: through
// the admin API of a running gateway (--config or --api), or directly on
// a gateway's data directory (--data), which also works while it is
// stopped. Both print the same table and the same JSON (api.MessageView).
func messagesCommand() *Command {
	c := &Command{Name: "messages", Summary: "list, show, download and steer messages",
		Subs: []*Command{
			{Name: "list", Summary: "list messages (filters, paging)", Run: runMessagesList,
				Usage: "messages list [options]",
				Help:  "List messages, oldest first. --all follows the pages to the end."},
			{Name: "show", Summary: "show a message with its process card and journal events", Run: runMessagesShow,
				Usage: "messages show [options] ID",
				Help:  "Show a message: state, documents, process card (Laufzettel) and journal events."},
			{Name: "evidence", Summary: "the proof of filing of a sent message (reception, hashes, record, eEB, journal)", Run: runMessagesEvidence,
				Usage: "messages evidence [options] [--html FILE] [--json] ID",
				Help: "Show the proof of filing of a message we sent: the reception time from the intermediary's signed process card,\n" +
					"the SHA-256 of every document (recomputed), the XJustiz record, the court's eEB answer and the journal entries.\n" +
					"--html writes the German page for the case file, --json prints the machine-readable bundle."},
			{Name: "download", Summary: "download the documents of a message", Run: runMessagesDownload,
				Usage: "messages download [options] ID [N...]",
				Help: "Download documents of a message into a directory (all, or the numbers N from 'messages show').\n" +
					"Each file is checked against the SHA-256 the gateway recorded; existing files are never overwritten."},
			{Name: "reprocess", Summary: "read a parked (unreadable) delivery again from its stored original", Run: runMessagesReprocess,
				Usage: "messages reprocess [options] ID",
				Help: "Read a parked delivery (quarantined as \"unreadable\") again from the original the gateway stored, once\n" +
					"the cause is gone (e.g. a limit raised): read, it goes on like a fresh delivery (verification, then\n" +
					"the intake or quarantine); still unreadable, it stays parked with the new reason. With --data the\n" +
					"mailboxes' keys come from --config. Journaled with your name."},
			{Name: "clear-fetch", Summary: "read again a delivery no longer read because its reads kept stopping the gateway", Run: runMessagesClearFetch,
				Usage: "messages clear-fetch [options] MAILBOX MESSAGEID",
				Help: "Forget the reads counted for a delivery that is no longer read because its reads kept stopping the\n" +
					"gateway (logged as \"skipped\"), so that the next poll of MAILBOX reads it again. MESSAGEID is the\n" +
					"OSCI MessageId from the log line. Journaled with your name."},
		}}
	for _, op := range []struct {
		op      mailbox.Op
		summary string
	}{
		{mailbox.OpRequeue, "send (or hand to the intake) again now; a failed message starts afresh"},
		{mailbox.OpHold, "stop a message until it is released"},
		{mailbox.OpRelease, "let a held message continue where it stopped"},
		{mailbox.OpDelete, "delete an unsent, failed or quarantined message (kept as a tombstone)"},
	} {
		c.Subs = append(c.Subs, &Command{Name: string(op.op), Summary: op.summary,
			Run:   func(env *Env, fs *flag.FlagSet, args []string) error { return runMessagesOp(env, fs, op.op, args) },
			Usage: "messages " + string(op.op) + " [options] ID",
			Help: strings.ToUpper(op.summary[:1]) + op.summary[1:] + ".\n" +
				"The change is journaled with your name (token label, or the user running the command with --data) and the reason."})
	}
	return c
}

// addressWriteCommand adds (verb "add") or replaces ("update") a recipient.
func addressWriteCommand(verb, summary string) *Command {
	return &Command{Name: verb, Summary: summary,
		Run:   func(env *Env, fs *flag.FlagSet, args []string) error { return runAddressWrite(env, fs, verb, args) },
		Usage: "addressbook " + verb + " [options] --safe-id ID --name N --cert FILE",
		Help: "Add or replace a recipient. The cipher certificate (PEM) is checked for use as a cipher\n" +
			"certificate (key, algorithm, validity, key usage) and pinned; SAFE certificates are often self-signed.\n" +
			"--intermediary must name a configured intermediary; without it the recipient is reached through\n" +
			"the sending mailbox's own. --court must be a code of GDS.Gerichte that is not dissolved.\n" +
			"A refused entry changes nothing; exit status 1 names the field and the reason."}
}
