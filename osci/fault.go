package osci

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// FaultEnvelope returns the SOAP envelope of a fault, as the reference library
// writes it: neither signed nor encrypted, no xsi:schemaLocation, faultcode
// unqualified by the osci namespace ("soap:Client" / "soap:Server"). Codes 9000
// and 9503 are Server faults, all others Client faults. Send it MIME-wrapped.
func FaultEnvelope(code Code, text string) []byte {
	side := "soap:Client"
	if code == CodeInternal || code == CodeCertCheckInternal {
		side = "soap:Server"
	}
	if text == "" {
		text = DefaultText(code)
	}
	var b bytes.Buffer
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSoap + `" xmlns:osci="` + NSOSCI + `"><soap:Body><soap:Fault><faultcode>`)
	b.WriteString(side)
	b.WriteString("</faultcode><faultstring>")
	xmlsec.EscapeText(&b, text)
	b.WriteString("</faultstring><detail><osci:Code>")
	b.WriteString(code.String())
	b.WriteString("</osci:Code></detail></soap:Fault></soap:Body></soap:Envelope>")
	return b.Bytes()
}

// parseFault reads a soap:Fault. faultcode may be qualified or not, and the
// detail's Code may be in the osci namespace or unqualified.
func parseFault(f *etree.Element) (*FaultError, error) {
	var fc, fs string
	var det *etree.Element
	for _, c := range f.ChildElements() {
		switch c.Tag {
		case "faultcode":
			fc = strings.TrimSpace(c.Text())
		case "faultstring":
			fs = c.Text()
		case "detail":
			det = c
		}
	}
	if fc == "" {
		return nil, fmt.Errorf("%w: fault without faultcode", ErrNotOSCI)
	}
	fe := &FaultError{Text: fs}
	_, local, ok := strings.Cut(fc, ":")
	if !ok {
		local = fc
	}
	switch local {
	case "Server":
		fe.Server = true
	case "Client":
	default:
		return nil, fmt.Errorf("%w: faultcode %q", ErrNotOSCI, fc)
	}
	var codeEl *etree.Element
	if det != nil {
		for _, c := range det.ChildElements() {
			if c.Tag == "Code" {
				codeEl = c
				break
			}
		}
	}
	if codeEl == nil {
		// A fault without an OSCI code: report it as the generic code of its side.
		fe.Code = CodeInvalidMessage
		if fe.Server {
			fe.Code = CodeInternal
		}
		return fe, nil
	}
	code, err := parseCode(strings.TrimSpace(codeEl.Text()))
	if err != nil {
		return nil, fmt.Errorf("%w: fault code: %w", ErrNotOSCI, err)
	}
	fe.Code = code
	return fe, nil
}
