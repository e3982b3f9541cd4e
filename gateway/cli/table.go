package cli

// commands is the one ordered table of the CLI: `bebpo-gateway --help`
// lists it in this order, and every entry answers --help.
func commands() []*Command {
	return []*Command{
		{Name: "run", Summary: "run the gateway daemon", Run: runDaemon},
		{Name: "send", Summary: "send documents to a recipient through a running gateway", Run: runSend},
		messagesCommand(),
		{Name: "status", Summary: "show whether a running gateway is ready, and its queues", Run: runStatus},
		{Name: "journal", Summary: "check the audit journal", Subs: []*Command{
			{Name: "verify", Summary: "verify the hash chain of the audit journal and its head", Run: runJournalVerify},
			{Name: "reanchor", Summary: "make the journal as it is the reference after its head file was lost", Run: runJournalReanchor},
		}},
		{Name: "addressbook", Summary: "manage the recipients (SAFE-ID, court, intermediary, cipher certificate) of a running gateway", Subs: []*Command{
			{Name: "list", Summary: "list the recipients", Run: runAddressList},
			{Name: "show", Summary: "show one recipient", Run: runAddressShow},
			{Name: "lookup", Summary: "find recipients by SAFE-ID, court code or part of a name", Run: runAddressLookup},
			{Name: "add", Summary: "add a recipient", Run: func(env *Env, args []string) error { return runAddressWrite(env, "add", args) }},
			{Name: "update", Summary: "replace a recipient", Run: func(env *Env, args []string) error { return runAddressWrite(env, "update", args) }},
			{Name: "delete", Summary: "remove a recipient", Run: runAddressDelete},
			{Name: "import", Summary: "add or replace recipients from a JSON or CSV file", Run: runAddressImport},
		}},
		{Name: "certs", Summary: "inspect and verify certificates and keystores", Subs: []*Command{
			{Name: "inspect", Summary: "show a certificate, certificate file or PKCS#12 keystore", Run: runCertsInspect},
			{Name: "verify", Summary: "validate a certificate for signature or cipher use", Run: runCertsVerify},
		}},
		{Name: "xml", Summary: "sign, verify, encrypt, decrypt and canonicalize XML", Subs: []*Command{
			{Name: "sign", Summary: "sign elements and attachments with one XML signature", Run: runXMLSign},
			{Name: "verify", Summary: "verify an XML signature against pinned or trusted certificates", Run: runXMLVerify},
			{Name: "c14n", Summary: "write the canonical form (C14N 1.0, or exclusive) of a document", Run: runXMLC14N},
			{Name: "encrypt", Summary: "encrypt an element or the whole document (AES-256-GCM, RSA-OAEP)", Run: runXMLEncrypt},
			{Name: "decrypt", Summary: "decrypt the EncryptedData of a document with a cipher key", Run: runXMLDecrypt},
		}},
		{Name: "simulator", Summary: "run an OSCI intermediary simulator for tests", Run: runSimulator},
		{Name: "demo", Summary: "run a self-contained demo: simulator, two mailboxes, one message", Run: runDemo},
		{Name: "version", Summary: "print the version and build information", Run: runVersion},
	}
}
