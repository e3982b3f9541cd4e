package osci

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// envelope is m's SOAP envelope; a message that does not build fails t.
func envelope(t testing.TB, m *Message) []byte {
	t.Helper()
	env, err := m.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func envelopeOf(t *testing.T, name string) string {
	t.Helper()
	return string(envelope(t, sampleMessages(t)[name]))
}

// TestParseRejects covers what is not an OSCI message (9100) and bad order
// data (9300, 9400), each with its sentinel and the fault code to answer with.
func TestParseRejects(t *testing.T) {
	store := envelopeOf(t, "storeDelivery")
	fetch := envelopeOf(t, "fetchDelivery")
	init := envelopeOf(t, "initDialog")
	loc := TypeStoreDelivery.SchemaLocation()
	tests := []struct {
		name string
		env  string
		want error
		code Code
	}{
		{"not xml", "hello", ErrNotOSCI, CodeInvalidMessage},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]>` + store, ErrNotOSCI, CodeInvalidMessage},
		{"wrong root", `<osci:x xmlns:osci="` + NSOSCI + `"/>`, ErrNotOSCI, CodeInvalidMessage},
		{"soap 1.2 envelope", strings.ReplaceAll(store, NSSoap, "http://www.w3.org/2003/05/soap-envelope"), ErrNotOSCI, CodeInvalidMessage},
		{"no schemaLocation no fault", strings.Replace(store, `xsi:schemaLocation="`+loc+`"`, "", 1), ErrNotOSCI, CodeInvalidMessage},
		{"schemaLocation with extra space", strings.Replace(store, "soapStoreDelivery.xsd", "soapStoreDelivery.xsd ", 1), ErrUnknownType, CodeInvalidMessage},
		{"unsupported type", strings.Replace(store, "soapStoreDelivery.xsd", "soapMediateDelivery.xsd", 1), ErrUnsupportedType, CodeInvalidMessage},
		{"no body", strings.Replace(store, store[strings.Index(store, "<soap:Body "):strings.Index(store, "</soap:Envelope>")], "", 1), ErrNotOSCI, CodeInvalidMessage},
		{"type says fetch, content is store", strings.Replace(store, "soapStoreDelivery.xsd", "soapFetchDelivery.xsd", 1), ErrInvalidOrder, CodeInvalidOrder},
		{"headers out of order", swapBlocks(t, store, "osci:DesiredLanguages", "osci:storeDelivery"), ErrInvalidOrder, CodeInvalidOrder},
		{"missing storeDelivery header", dropBlock(t, store, "osci:storeDelivery"), ErrInvalidOrder, CodeInvalidOrder},
		{"missing controlblock", dropBlock(t, fetch, "osci:ControlBlock"), ErrInvalidOrder, CodeInvalidOrder},
		{"init without originator cipher cert", dropBlock(t, init, "osci:NonIntermediaryCertificates"), ErrInvalidOrder, CodeInvalidOrder},
		{"duplicate Id", strings.Replace(store, `Id="desiredlanguages"`, `Id="controlblock"`, 1), ErrInvalidOrder, CodeInvalidOrder},
		{"message id not base64", strings.Replace(store, "Z292YXBwXzE3NzI0NDMyNTMwMDAxMjM0NTY3ODkwMTIzNDU=", "govapp_1!", 1), ErrBadMessageID, CodeInvalidOrder},
		{"broken certificate", strings.Replace(store, "<ds:X509Certificate>MII", "<ds:X509Certificate>AAA", 1), ErrCertificate, CodeInvalidOrder},
		{"sequence not a number", strings.Replace(fetch, `SequenceNumber="3"`, `SequenceNumber="-3"`, 1), ErrControlBlock, CodeSequence},
		{"fetch with conversation id but no response", strings.Replace(fetch, `<osci:Response>c3VwcGxpZXItY2g=</osci:Response>`, "", 1), ErrControlBlock, CodeSequence},
		{"init with sequence number", strings.Replace(init, `Id="controlblock"`, `Id="controlblock" SequenceNumber="0"`, 1), ErrControlBlock, CodeSequence},
		{"fetch body not empty", strings.Replace(fetch, `Id="body"></soap:Body>`, `Id="body"><osci:x></osci:x></soap:Body>`, 1), ErrInvalidOrder, CodeInvalidOrder},
		{"bad process card time", strings.Replace(envelopeOf(t, "responseToStoreDelivery"), `RecentModification="2026-03-02T10:20:53+01:00"`, `RecentModification="yesterday"`, 1), ErrBadTimestamp, CodeInvalidOrder},
		{"response feedback without code", strings.Replace(envelopeOf(t, "responseToExitDialog"), "<osci:Code>0800</osci:Code>", "", 1), ErrInvalidOrder, CodeInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.env), xmlsec.Limits{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := FaultCode(err); got != tc.code {
				t.Fatalf("fault code %s, want %s (%v)", got, tc.code, err)
			}
		})
	}
}

func swapBlocks(t *testing.T, env, a, b string) string {
	ra, rb := string(rawBlock(t, []byte(env), a)), string(rawBlock(t, []byte(env), b))
	env = strings.Replace(env, ra, "\x00", 1)
	env = strings.Replace(env, rb, ra, 1)
	return strings.Replace(env, "\x00", rb, 1)
}

func dropBlock(t *testing.T, env, name string) string {
	return strings.Replace(env, string(rawBlock(t, []byte(env), name)), "", 1)
}

func TestParseFaults(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		code   Code
		server bool
		temp   bool
	}{
		{"library form", string(FaultEnvelope(CodeSequence, "")), CodeSequence, false, true},
		{"server fault", string(FaultEnvelope(CodeInternal, "")), CodeInternal, true, true},
		{"9503 is server", string(FaultEnvelope(CodeCertCheckInternal, "")), CodeCertCheckInternal, true, true},
		{"qualified faultcode as in the spec example", `<soap:Envelope xmlns:soap="` + NSSoap + `" xmlns:osci="` + NSOSCI +
			`"><soap:Body><soap:Fault><soap:faultcode>soap:Client</soap:faultcode><soap:faultstring>x</soap:faultstring><detail><osci:Code>9201</osci:Code></detail></soap:Fault></soap:Body></soap:Envelope>`,
			CodeCipherCertRevoked, false, false},
		{"no detail", `<soap:Envelope xmlns:soap="` + NSSoap + `"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring></soap:Fault></soap:Body></soap:Envelope>`,
			CodeInternal, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.env), xmlsec.Limits{})
			var fe *FaultError
			if !errors.As(err, &fe) || m == nil || m.Type != TypeFault {
				t.Fatalf("err = %v", err)
			}
			if fe.Code != tc.code || fe.Server != tc.server || Temporary(err) != tc.temp {
				t.Fatalf("fault %+v temporary %v", fe, Temporary(err))
			}
			if !errors.Is(err, &FaultError{Code: tc.code}) {
				t.Fatal("errors.Is by code failed")
			}
		})
	}
	t.Run("bad faultcode", func(t *testing.T) {
		_, err := Parse([]byte(`<soap:Envelope xmlns:soap="`+NSSoap+`"><soap:Body><soap:Fault><faultcode>Boom</faultcode></soap:Fault></soap:Body></soap:Envelope>`), xmlsec.Limits{})
		if !errors.Is(err, ErrNotOSCI) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestEGVPProcessCard reads the process card of a real responseToFetchDelivery
// stored by a production receiver. Its schemaLocation and header name were
// changed after signing, so the message as a whole is refused as unsupported.
func TestEGVPProcessCard(t *testing.T) {
	e := vectorEntity(t, "vectors/egvp/TestnachrichtEeb_1/oscicontentdata.osci")
	if _, err := Parse(e.SOAP, xmlsec.Limits{}); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("err = %v", err)
	}
	doc, err := xmlsec.ParseBytes(e.SOAP, xmlsec.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var bundle *etree.Element
	for _, el := range doc.FindElements("//ProcessCardBundle") {
		bundle = el
	}
	b, err := ParseProcessCardBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	cest := time.FixedZone("", 2*3600)
	if b.MessageID != "govapp_1635495652029962964207292623458" || b.ProcessCard.Subject != "Allgemeine Nachricht" ||
		!b.ProcessCard.RecentModification.Equal(time.Date(2021, 10, 29, 10, 35, 1, 0, cest)) ||
		!b.ProcessCard.Creation.Time.Equal(time.Date(2021, 10, 29, 10, 20, 53, 0, cest)) ||
		b.ProcessCard.Forwarding == nil || b.ProcessCard.Reception != nil {
		t.Fatalf("bundle %+v", b)
	}
	if len(b.Inspections) != 3 || b.Inspections[0].OnlineResult != "ok" || string(b.Inspections[0].OnlineChecks[0].Value) != "Not yet supported!" ||
		b.Inspections[1].CertType != "unknown" || b.Inspections[0].SerialNumber != "5930334713391546401" {
		t.Fatalf("inspections %+v", b.Inspections)
	}
	if got := FormatTime(b.ProcessCard.RecentModification); got != "2021-10-29T10:35:01+02:00" {
		t.Fatalf("format %s", got)
	}
	var out bytes.Buffer
	b.element().write(&out)
	if !strings.Contains(out.String(), "<osci:Plain>2021-10-29T10:20:53+02:00</osci:Plain>") {
		t.Fatal(out.String())
	}
}

func TestTimeFormat(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC), "2026-01-02T03:04:05Z"},
		{time.Date(2026, 7, 2, 3, 4, 5, 0, time.FixedZone("", 2*3600)), "2026-07-02T03:04:05+02:00"},
		{time.Date(2026, 7, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600-1800)), "2026-07-02T03:04:05-05:30"},
	}
	for _, tc := range tests {
		if got := FormatTime(tc.in); got != tc.want {
			t.Errorf("FormatTime = %s, want %s", got, tc.want)
		}
	}
	for _, s := range []string{"2021-10-29T10:35:01.123+02:00", "2021-10-29T10:35:01", "2021-10-29T10:35:01Z"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("ParseTime(%q): %v", s, err)
		}
	}
	if _, err := ParseTime("29.10.2021"); !errors.Is(err, ErrBadTimestamp) {
		t.Errorf("err = %v", err)
	}
}
