package osci

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// TimeLayout is how OSCI timestamps are written: seconds, "Z" at UTC, else ±hh:mm.
const TimeLayout = "2006-01-02T15:04:05Z07:00"

// FormatTime formats t for OSCI (no fractional seconds).
func FormatTime(t time.Time) string { return t.Truncate(time.Second).Format(TimeLayout) }

// ParseTime parses an xsd:dateTime as OSCI peers write it (fractional seconds
// allowed; no zone means UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrBadTimestamp, s)
}

// Timestamp is an OSCI timestamp: plain (the supplier's clock) or cryptographic
// (an opaque token from a timestamp service, carried through, not checked).
type Timestamp struct {
	Time      time.Time // plain
	Algorithm string    // cryptographic: the Algorithm attribute
	Token     []byte    // cryptographic: the decoded token
}

// Cryptographic reports whether the timestamp is a cryptographic one.
func (t Timestamp) Cryptographic() bool { return t.Token != nil }

// ProcessCard is the OSCI Laufzettel of one delivery.
type ProcessCard struct {
	RecentModification time.Time
	Creation           *Timestamp // the supplier received the store order
	Forwarding         *Timestamp // the supplier built the message handing out the delivery
	Reception          *Timestamp // the recipient's next order in the same dialog
	Subject            string
}

// Inspection is one certificate check the supplier reports (Prüfprotokoll entry).
type Inspection struct {
	Timestamp     Timestamp
	SubjectName   string
	IssuerName    string
	SerialNumber  string
	CertType      string // advanced, qualified, accredited, unknown
	MathResult    string // ok, corrupted, indeterminate
	OfflineResult string // valid, invalid, indeterminate
	OnlineResult  string // ok, revoked; "" when absent
	OnlineChecks  []OnlineCheck
}

// OnlineCheck is one OCSP, CRL or LDAP answer inside an OnlineResult.
type OnlineCheck struct {
	Kind  string // OCSP, CRL, LDAP
	Value []byte
}

// ProcessCardBundle is a process card with the MessageId it belongs to and
// the inspection report.
type ProcessCardBundle struct {
	MessageID   string // decoded
	ProcessCard ProcessCard
	Inspections []Inspection
}

func (t Timestamp) element(name string) *xel {
	if t.Cryptographic() {
		return el(name, el("osci:Cryptographic").attr("Algorithm", t.Algorithm).txt(xmlsec.EncodeBase64(t.Token)))
	}
	return el(name, el("osci:Plain").txt(FormatTime(t.Time)))
}

func messageIDElement(id string) *xel {
	return el("osci:MessageId").txt(base64.StdEncoding.EncodeToString([]byte(id)))
}

func (b ProcessCardBundle) element() *xel {
	pc := el("osci:ProcessCard").attr("RecentModification", FormatTime(b.ProcessCard.RecentModification))
	for _, ts := range []struct {
		name string
		t    *Timestamp
	}{{"osci:Creation", b.ProcessCard.Creation}, {"osci:Forwarding", b.ProcessCard.Forwarding}, {"osci:Reception", b.ProcessCard.Reception}} {
		if ts.t != nil {
			pc.add(ts.t.element(ts.name))
		}
	}
	if b.ProcessCard.Subject != "" {
		pc.add(el("osci:Subject").txt(b.ProcessCard.Subject))
	}
	rep := el("osci:InspectionReport")
	for _, in := range b.Inspections {
		x := el("osci:Inspection", in.Timestamp.element("osci:Timestamp"),
			el("osci:X509SubjectName").txt(in.SubjectName),
			el("osci:X509IssuerName").txt(in.IssuerName),
			el("osci:X509SerialNumber").txt(in.SerialNumber),
			el("osci:CertType").attr("Type", in.CertType),
			el("osci:MathResult").attr("Result", in.MathResult),
			el("osci:OfflineResult").attr("Result", in.OfflineResult))
		if in.OnlineResult != "" {
			on := el("osci:OnlineResult").attr("Result", in.OnlineResult)
			for _, c := range in.OnlineChecks {
				on.add(el("osci:" + c.Kind).txt(xmlsec.EncodeBase64(c.Value)))
			}
			x.add(on)
		}
		rep.add(x)
	}
	return el("osci:ProcessCardBundle", messageIDElement(b.MessageID), pc, rep)
}

func parseMessageID(e *etree.Element) (string, error) {
	if e == nil {
		return "", fmt.Errorf("%w: missing", ErrBadMessageID)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(e.Text()), ""))
	if err != nil || len(raw) == 0 || len(raw) > 1024 {
		return "", fmt.Errorf("%w: not base64", ErrBadMessageID)
	}
	return string(raw), nil
}

func parseTimestamp(e *etree.Element) (*Timestamp, error) {
	if e == nil {
		return nil, nil
	}
	if p := child(e, NSOSCI, "Plain"); p != nil {
		t, err := ParseTime(p.Text())
		if err != nil {
			return nil, err
		}
		return &Timestamp{Time: t}, nil
	}
	if c := child(e, NSOSCI, "Cryptographic"); c != nil {
		tok, err := decodeB64(c.Text())
		if err != nil {
			return nil, fmt.Errorf("%w: cryptographic token", ErrBadTimestamp)
		}
		return &Timestamp{Algorithm: c.SelectAttrValue("Algorithm", ""), Token: tok}, nil
	}
	return nil, fmt.Errorf("%w: neither plain nor cryptographic", ErrBadTimestamp)
}

// ParseProcessCardBundle reads an osci:ProcessCardBundle element.
func ParseProcessCardBundle(e *etree.Element) (ProcessCardBundle, error) {
	var b ProcessCardBundle
	var err error
	if b.MessageID, err = parseMessageID(child(e, NSOSCI, "MessageId")); err != nil {
		return b, err
	}
	pc := child(e, NSOSCI, "ProcessCard")
	if pc == nil {
		return b, fmt.Errorf("%w: bundle without process card", ErrInvalidOrder)
	}
	if b.ProcessCard.RecentModification, err = ParseTime(pc.SelectAttrValue("RecentModification", "")); err != nil {
		return b, err
	}
	for _, f := range []struct {
		name string
		dst  **Timestamp
	}{{"Creation", &b.ProcessCard.Creation}, {"Forwarding", &b.ProcessCard.Forwarding}, {"Reception", &b.ProcessCard.Reception}} {
		if *f.dst, err = parseTimestamp(child(pc, NSOSCI, f.name)); err != nil {
			return b, err
		}
	}
	if s := child(pc, NSOSCI, "Subject"); s != nil {
		b.ProcessCard.Subject = s.Text()
	}
	if rep := child(e, NSOSCI, "InspectionReport"); rep != nil {
		for _, in := range children(rep, NSOSCI, "Inspection") {
			x, err := parseInspection(in)
			if err != nil {
				return b, err
			}
			b.Inspections = append(b.Inspections, x)
		}
	}
	return b, nil
}

func parseInspection(e *etree.Element) (Inspection, error) {
	var in Inspection
	ts, err := parseTimestamp(child(e, NSOSCI, "Timestamp"))
	if err != nil {
		return in, err
	}
	if ts == nil {
		return in, fmt.Errorf("%w: inspection without timestamp", ErrInvalidOrder)
	}
	in.Timestamp = *ts
	in.SubjectName = childText(e, NSOSCI, "X509SubjectName")
	in.IssuerName = childText(e, NSOSCI, "X509IssuerName")
	in.SerialNumber = childText(e, NSOSCI, "X509SerialNumber")
	in.CertType = childAttr(e, "CertType", "Type")
	in.MathResult = childAttr(e, "MathResult", "Result")
	in.OfflineResult = childAttr(e, "OfflineResult", "Result")
	if on := child(e, NSOSCI, "OnlineResult"); on != nil {
		in.OnlineResult = on.SelectAttrValue("Result", "")
		for _, c := range on.ChildElements() {
			v, err := decodeB64(c.Text())
			if err != nil {
				return in, fmt.Errorf("%w: online check %s not base64", ErrInvalidOrder, c.Tag)
			}
			in.OnlineChecks = append(in.OnlineChecks, OnlineCheck{Kind: c.Tag, Value: v})
		}
	}
	return in, nil
}

func childAttr(e *etree.Element, local, attr string) string {
	if c := child(e, NSOSCI, local); c != nil {
		return c.SelectAttrValue(attr, "")
	}
	return ""
}
