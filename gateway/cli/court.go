package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

// defaultDocumentClass is the GDS.Dokumentklasse of documents court build
// is not told the class of: 015 Schreiben.
const defaultDocumentClass = "015"

// courtCommand builds, validates and checks what goes to a court.
func courtCommand() *Command {
	return &Command{Name: "court", Summary: "build and check XJustiz records and files for a court", Subs: []*Command{
		{Name: "build", Summary: "print the XJustiz record (xjustiz_nachricht.xml) for documents to a court", Run: runCourtBuild,
			Usage: "court build --court CODE [--case-sender X] [--case-recipient Y] [--subject S] [--eeb] [--class CODE] [--sender NAME | --config FILE [--mailbox NAME]] FILE...",
			Help: "Build nachricht.gds.uebermittlungSchriftgutobjekte.0005005 for the files: the court by its GDS.Gerichte code,\n" +
				"the city as sender (--sender, else the business card of the configured mailbox), both case numbers, the\n" +
				"subject and per file a UUID its name must carry (printed to stderr). --eeb asks the court for an eEB.\n" +
				"The record is validated against the XJustiz schemas before it is printed; exit 1 with the schema's message\n" +
				"when it is not valid or the court is missing or unknown."},
		{Name: "validate", Summary: "validate an XJustiz record against the schemas", Run: runCourtValidate,
			Usage: "court validate FILE",
			Help: "Validate FILE against the XJustiz schemas of the generation it declares (and the rules the gateway\n" +
				"checks, e.g. SCH-EEB-0001). Exit 0 when valid, 1 with every problem and its line when not."},
		{Name: "check", Summary: "check files against the ERVB before sending them to a court", Run: runCourtCheck,
			Usage: "court check [--json] FILE...",
			Help: "Check the files as one message against the ERVB: count and size, names, and content (a .pdf must be an\n" +
				"unencrypted PDF without JavaScript, embedded files or external actions; a .tif a TIFF; Word, ZIP and\n" +
				"programs are refused). Prints one line per finding (severity, file, rule, text); exit 1 on any error."},
	}}
}

func newCodec() (*xjustiz.Codec, error) {
	return xjustiz.New(xjustiz.Options{Product: xjustiz.Product{Name: "bebpo-gateway", Vendor: "bebpo-gateway contributors", Version: version.Version}})
}

func runCourtBuild(env *Env, fs *flag.FlagSet, args []string) error {
	code := fs.String("court", "", "the court's GDS.Gerichte code, e.g. R1502 (Amtsgericht Erkelenz)")
	caseSender := fs.String("case-sender", "", "our file number (aktenzeichen.absender)")
	caseRecipient := fs.String("case-recipient", "", "the court's case number (aktenzeichen.empfaenger)")
	subject := fs.String("subject", "", "the subject of the proceedings (verfahrensgegenstand)")
	wantEEB := fs.Bool("eeb", false, "ask the court for an eEB (ruecksendungEEB.erforderlich on every document)")
	class := fs.String("class", defaultDocumentClass, "GDS.Dokumentklasse code of the documents (003 Klage / Antrag, 015 Schreiben, ...)")
	sender := fs.String("sender", "", "the sender as the record names it (absender.sonstige), e.g. \"Stadt Erkelenz\"")
	cfgPath := fs.String("config", "", "gateway configuration: the sender is the mailbox's business card (organisation)")
	mb := fs.String("mailbox", "", "the mailbox whose business card names the sender (default: the first)")
	if err := parseArgs(env, fs, args, -1, ""); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "give the files the record describes")
	}
	name := strings.TrimSpace(*sender)
	if name == "" {
		if *cfgPath == "" {
			return usageErrorf(fs, "give --sender NAME or --config FILE (the mailbox's business card names the sender)")
		}
		var err error
		if name, err = cardSender(*cfgPath, *mb); err != nil {
			return err
		}
	}
	court := xjustiz.Court{Code: strings.ToUpper(strings.TrimSpace(*code))}
	if court.Code != "" {
		c, ok := courts.Lookup(court.Code)
		switch {
		case !ok:
			return fmt.Errorf("court %q is not in GDS.Gerichte %s", court.Code, courts.Default().Version)
		case c.Dissolved:
			return fmt.Errorf("court %s (%s) is dissolved and receives nothing", c.Code, c.Name)
		}
		court.Name = c.Name
	}
	s := xjustiz.Submission{Court: court, Sender: name, CaseSender: *caseSender, CaseRecipient: *caseRecipient,
		Subject: *subject, EEB: *wantEEB}
	for _, f := range fs.Args() {
		s.Documents = append(s.Documents, xjustiz.Document{Name: filepath.Base(f), Class: *class})
	}
	codec, err := newCodec()
	if err != nil {
		return err
	}
	b, err := codec.BuildSubmission(s)
	if err != nil {
		return explainRecord(env, err)
	}
	for _, d := range b.Documents {
		fmt.Fprintf(env.Stderr, "%s\tsend as %s\n", d.Name, d.FileName)
	}
	_, err = env.Stdout.Write(b.Record)
	return err
}

// cardSender names the sender from a configured mailbox's business card.
func cardSender(path, name string) (string, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return "", err
	}
	mc := cfg.Mailboxes[0]
	if name != "" {
		var ok bool
		if mc, ok = cfg.Mailbox(name); !ok {
			return "", fmt.Errorf("%w: no mailbox %q", config.ErrConfig, name)
		}
	}
	for _, s := range []string{mc.Card.Organisation, mc.Card.Name} {
		if s = strings.TrimSpace(s); s != "" {
			return s, nil
		}
	}
	return "", fmt.Errorf("%w: mailbox %s: its business_card names no organisation; give --sender", config.ErrConfig, mc.Name)
}

// explainRecord prints every problem of a record that is not valid and
// returns errFailed; other errors pass.
func explainRecord(env *Env, err error) error {
	var ve *xjustiz.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	fmt.Fprintf(env.Stderr, "bebpo-gateway court: %s\n", ve.Kind)
	for _, p := range ve.Problems {
		fmt.Fprintf(env.Stderr, "  %s\n", p)
	}
	if ve.Total > len(ve.Problems) {
		fmt.Fprintf(env.Stderr, "  and %d more\n", ve.Total-len(ve.Problems))
	}
	return errFailed
}

func runCourtValidate(env *Env, fs *flag.FlagSet, args []string) error {
	if err := parseArgs(env, fs, args, 1, "one FILE"); err != nil {
		return err
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	codec, err := newCodec()
	if err != nil {
		return err
	}
	if err := codec.Validate(data); err != nil {
		return explainRecord(env, err)
	}
	r, err := codec.Read(data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%s: valid (XJustiz %s, %s)\n", fs.Arg(0), r.Generation, r.Message)
	return err
}

func runCourtCheck(env *Env, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	if err := parseArgs(env, fs, args, -1, ""); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "give the files of the message")
	}
	var files []ervb.File
	for _, p := range fs.Args() {
		files = append(files, ervb.OSFile(filepath.Base(p), p))
	}
	c := &ervb.Checker{}
	found, err := c.Check(context.Background(), files)
	if err != nil {
		return err
	}
	if found == nil {
		found = ervb.Findings{}
	}
	if *asJSON {
		err = printJSON(env.Stdout, found)
	} else {
		err = printERVBFindings(env.Stdout, found)
	}
	if err != nil {
		return err
	}
	if found.Err() != nil {
		return errFailed
	}
	return nil
}

func printERVBFindings(w io.Writer, found ervb.Findings) error {
	tw := newTable(w, "")
	for _, f := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, cliDash(f.File), f.Rule, f.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(found) == 0 {
		_, err := fmt.Fprintln(w, "no findings: the files meet the ERVB")
		return err
	}
	return nil
}
