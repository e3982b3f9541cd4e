package xjustiz

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Code is one entry of a code list: the code and its German name (Wert).
type Code struct {
	Code string
	Name string
}

// codeList is a genericode code list reduced to code → name.
type codeList struct {
	version string // Identification/Version, the listVersionID to write
	codes   []Code
}

func (l *codeList) name(code string) (string, bool) {
	i := slices.IndexFunc(l.codes, func(c Code) bool { return c.Code == code })
	if i < 0 {
		return "", false
	}
	return l.codes[i].Name, true
}

const nsGenericode = "http://docs.oasis-open.org/codelist/ns/genericode/1.0/"

// parseCodeList reads a genericode 1.0 code list with the columns "code"
// and "wert" (the XJustiz layout).
func parseCodeList(b []byte) (*codeList, error) {
	doc, err := xmlsec.ParseBytes(b, xmlsec.Limits{MaxBytes: 8 << 20, MaxElements: 500000})
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if root.Tag != "CodeList" || root.NamespaceURI() != nsGenericode {
		return nil, errors.New("not a genericode code list")
	}
	l := &codeList{}
	if v := root.FindElement("Identification/Version"); v != nil {
		l.version = strings.TrimSpace(v.Text())
	}
	if l.version == "" {
		return nil, errors.New("code list without version")
	}
	for _, row := range root.FindElements("SimpleCodeList/Row") {
		var c Code
		for _, v := range row.SelectElements("Value") {
			sv := v.SelectElement("SimpleValue")
			if sv == nil {
				continue
			}
			switch v.SelectAttrValue("ColumnRef", "") {
			case "code":
				c.Code = strings.TrimSpace(sv.Text())
			case "wert":
				c.Name = strings.TrimSpace(sv.Text())
			}
		}
		if c.Code == "" {
			return nil, fmt.Errorf("row %d without code", len(l.codes)+1)
		}
		l.codes = append(l.codes, c)
	}
	if len(l.codes) == 0 {
		return nil, errors.New("code list without rows")
	}
	return l, nil
}

// RejectionCode is a reason to refuse an eEB, from the code list
// EEB.StoerungsID (urn:xoev-de:xjustiz:codeliste:eeb.stoerungs-id, 2.1).
type RejectionCode string

// The reasons of EEB.StoerungsID 2.1.
const (
	RejectNotParty    RejectionCode = "1" // Zustellungsempfänger nicht am Verfahren beteiligt
	RejectUnclear     RejectionCode = "2" // Inhalt der Sendung unklar oder unvollständig
	RejectCertificate RejectionCode = "3" // Zertifikatsprüfung fehlgeschlagen
)

var rejectionNames = map[RejectionCode]string{
	RejectNotParty:    "Zustellungsempfänger nicht am Verfahren beteiligt",
	RejectUnclear:     "Inhalt der Sendung unklar oder unvollständig",
	RejectCertificate: "Zertifikatsprüfung fehlgeschlagen",
}

// Name is the code list's German text for the code ("" when unknown).
func (c RejectionCode) Name() string { return rejectionNames[c] }

// RejectionCodes lists the reasons in code order.
func RejectionCodes() []Code {
	return []Code{
		{string(RejectNotParty), RejectNotParty.Name()},
		{string(RejectUnclear), RejectUnclear.Name()},
		{string(RejectCertificate), RejectCertificate.Name()},
	}
}
