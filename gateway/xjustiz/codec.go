package xjustiz

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin on every host

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Limits bound the records this package builds, validates and reads.
// A zero field means its default.
type Limits struct {
	MaxBytes     int64 // one record; default 4 MiB
	MaxDocuments int   // dokument elements in one record; default 1000 (the ERVB's file limit)
	MaxProblems  int   // validation messages kept; default 50
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 4 << 20, MaxDocuments: 1000, MaxProblems: 50}
}

func (l Limits) withDefaults() Limits { return limit.Fill(l, DefaultLimits()) }

func (l Limits) xml() xmlsec.Limits {
	x := xmlsec.DefaultLimits()
	x.MaxBytes = l.MaxBytes
	return x
}

// Product is the herstellerinformation written into every record.
type Product struct {
	Name    string // nameDesProdukts, e.g. "bebpo-gateway"
	Vendor  string // herstellerDesProdukts
	Version string // version
}

// Options configure a Codec.
type Options struct {
	Generation string           // schema generation of records we build; "" is DefaultGeneration
	Now        func() time.Time // erstellungszeitpunkt; nil is time.Now
	Rand       io.Reader        // message and document UUIDs; nil is crypto/rand
	Limits     Limits
	Product    Product // herstellerinformation; empty: none written
}

// Codec builds, validates and reads XJustiz records. It is safe for
// concurrent use; the compiled schemas are shared by all Codecs.
type Codec struct {
	gen  *generation
	now  func() time.Time
	rand io.Reader
	lim  Limits
	prod Product
}

// New returns a Codec for o.Generation. It compiles that generation's
// embedded schemas on first use in the process.
func New(o Options) (*Codec, error) {
	g, err := lookupGeneration(o.Generation)
	if err != nil {
		return nil, err
	}
	if err := g.load(); err != nil {
		return nil, err
	}
	c := &Codec{gen: g, now: o.Now, rand: o.Rand, lim: o.Limits.withDefaults(), prod: o.Product}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	return c, nil
}

// Generation is the schema generation records are built in.
func (c *Codec) Generation() string { return c.gen.name }

// DocumentClasses lists the code list GDS.Dokumentklasse of the generation.
func (c *Codec) DocumentClasses() []Code { return append([]Code(nil), c.gen.classes.codes...) }

// Validate checks record against the schemas of the generation its
// xjustizVersion names (any this build carries; none named: the Codec's
// generation) and the
// rules of the standard this package checks. It returns nil, or an error
// wrapping ErrTooLarge, ErrMalformed, ErrSchema, ErrRule (a
// *ValidationError with the validator's messages), ErrUnsupported or
// ErrUnknownGeneration.
func (c *Codec) Validate(record []byte) error {
	_, _, err := c.check(record, nil)
	return err
}

// check parses record within the limits and validates it against gen, or
// (gen nil) the generation the record declares. It returns the parsed
// tree when record is well-formed, also when validation fails.
func (c *Codec) check(record []byte, gen *generation) (*etree.Document, *generation, error) {
	if int64(len(record)) > c.lim.MaxBytes {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(record), c.lim.MaxBytes)
	}
	doc, err := xmlsec.ParseBytes(record, c.lim.xml())
	if err != nil {
		return nil, nil, c.malformed(record, err)
	}
	root := doc.Root()
	msg := root.Tag
	if gen == nil {
		// A record that declares no version is checked against the
		// Codec's generation, so its author sees the schema's message.
		version := declaredVersion(root)
		if gen = c.gen; version != "" {
			gen = generationForVersion(version)
		}
		if gen == nil {
			return doc, nil, fmt.Errorf("%w: %q (this build has %v)", ErrUnknownGeneration, version, Generations())
		}
		if err := gen.load(); err != nil {
			return doc, nil, err
		}
	}
	schema := gen.schemas[msg]
	if root.NamespaceURI() != gen.namespace || schema == nil {
		return doc, gen, fmt.Errorf("%w: {%s}%s (XJustiz %s: %s)", ErrUnsupported, root.NamespaceURI(), msg, gen.name, strings.Join(gen.messageTypes(), ", "))
	}
	if n := len(root.FindElements("schriftgutobjekte/dokument")); n > c.lim.MaxDocuments {
		return doc, gen, fmt.Errorf("%w: %d documents, limit %d", ErrTooLarge, n, c.lim.MaxDocuments)
	}
	if err := schema.Validate(record, xsd.Limits{MaxBytes: c.lim.MaxBytes, MaxProblems: c.lim.MaxProblems}); err != nil {
		return doc, gen, fromXSD(err, gen.name, msg)
	}
	if err := checkRules(root, gen, msg); err != nil {
		return doc, gen, err
	}
	return doc, gen, nil
}

// malformed explains a parse failure: the hardened parser's verdict, with
// libxml2's line-numbered message when it too finds the record malformed.
func (c *Codec) malformed(record []byte, perr error) error {
	if errors.Is(perr, xmlsec.ErrTooLarge) {
		return fmt.Errorf("%w: %w", ErrTooLarge, perr)
	}
	if !errors.Is(perr, xmlsec.ErrSyntax) {
		return fmt.Errorf("%w: %w", ErrMalformed, perr)
	}
	for _, s := range c.gen.schemas {
		err := s.Validate(record, xsd.Limits{MaxBytes: c.lim.MaxBytes, MaxProblems: c.lim.MaxProblems})
		if errors.Is(err, xsd.ErrMalformed) {
			return fromXSD(err, "", "")
		}
		break
	}
	return fmt.Errorf("%w: %w", ErrMalformed, perr)
}

// declaredVersion is the xjustizVersion a record declares: on the
// nachrichtenkopf (3.x) or on grunddaten (2.x); "" when none.
func declaredVersion(root *etree.Element) string {
	for _, name := range []string{"nachrichtenkopf", "grunddaten"} {
		if e := child(root, name); e != nil && e.SelectAttrValue("xjustizVersion", "") != "" {
			return e.SelectAttrValue("xjustizVersion", "")
		}
	}
	return ""
}

// checkRules applies the rules of the standard (Schematron in the
// specification) that matter to this gateway.
func checkRules(root *etree.Element, gen *generation, msg string) error {
	if msg == MessageEEB {
		// SCH-EEB-0001: fremdeNachrichtenID must occur exactly once.
		if n := len(root.FindElements("nachrichtenkopf/fremdeNachrichtenID")); n != 1 {
			return &ValidationError{Kind: ErrRule, Generation: gen.name, Message: msg, Total: 1,
				Problems: []Problem{{Line: 0, Message: fmt.Sprintf("SCH-EEB-0001: fremdeNachrichtenID must occur exactly once, found %d", n)}}}
		}
	}
	return nil
}
