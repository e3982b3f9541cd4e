package egvp

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// TestVectorForms parses the forms of the real EGVP messages.
func TestVectorForms(t *testing.T) {
	tests := []struct {
		dir  string
		msg  Nachricht
		card BusinessCard
		prod string
	}{
		{"TestnachrichtEeb_1",
			Nachricht{MessageType: "Allgemeine Nachricht", SignatureLevel: "no", RecipientID: "DE.Justiz.233a8870-2319-4dbc-9f68-a4cc9da8f429.9999",
				Subject: "EB zu: 1 K 519/20.KO", CaseNumberRecipient: "1 K 519/20.KO"},
			BusinessCard{Organisation: "Obere Landesbehörde", OrganisationSuffix: "Allgemeines Verwaltunsgpostfach", Salutation: "Körperschaft",
				Name: "Präsident des Oberverwaltungsgerichts Rheinland-Pfalz", Street: "Deinhardpassage", HouseNumber: "1", PostalCode: "56068",
				City: "Koblenz", State: "Rheinland-Pfalz", Country: "DE", Email: "poststelle@ovg.jm.rlp.de", Phone: "0261 1307 0",
				UserID: "DE.Justiz.836cga01-ffff-2856-85ef-268df5e8b136.5555", RoleID: "egvp_bebpo"},
			"Governikus Communicator Version 3791"},
		{"Testnachricht_xjustiz321",
			Nachricht{MessageType: "Testnachricht", SignatureLevel: "no", RecipientID: "DE.Justiz.568b4987-2701-4c8d-8a56-abb554fad842.1111",
				Subject: "Funktionsabfrage", CaseNumberSender: "Ohne",
				FreeText: "Sehr geehrte Damen und Herren,\n\nanbei unsere Dokumente zur Funktionsüberprüfung.\n\nMit freundlichen Grüßen\n\nChristoph Bidinger\nPvD PP Koblenz"},
			BusinessCard{Organisation: "Polizeipräsidium", Name: "ZZZ Testpostfach Polizeipräsidium Koblenz Gefahrenabwehr", Street: "Moselring",
				HouseNumber: "10/12", PostalCode: "56068", City: "Koblenz", State: "Rheinland-Pfalz", Country: "DE",
				UserID: "DE.Justiz.5d5d58af-adff-55b7-875c-6548acd55b74.2222", RoleID: "egvp_bebpo"},
			"Governikus Communicator Version 3930"},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			base := "vectors/egvp/" + tc.dir + "/additionals/"
			n, err := ParseNachricht(shared(t, base+"nachricht.xml"), xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.msg {
				t.Errorf("nachricht\n got %+v\nwant %+v", n, tc.msg)
			}
			c, err := ParseBusinessCard(shared(t, base+"visitenkarte.xml"), xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if c != tc.card {
				t.Errorf("visitenkarte\n got %+v\nwant %+v", c, tc.card)
			}
			m, err := ParseManufacturer(shared(t, base+"herstellerinformation.xml"), xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Product != tc.prod || m.Vendor != "Governikus GmbH & Co. KG" || m.RegistrationID != "0001.0004.0002.020900" {
				t.Errorf("herstellerinformation %+v", m)
			}
			// Our writer's output reads back to the same values.
			for _, v := range []struct {
				x   func() ([]byte, error)
				chk func([]byte) bool
			}{
				{n.XML, func(b []byte) bool { r, err := ParseNachricht(b, xmlsec.Limits{}); return err == nil && r == n }},
				{c.XML, func(b []byte) bool { r, err := ParseBusinessCard(b, xmlsec.Limits{}); return err == nil && r == c }},
			} {
				b, err := v.x()
				if err != nil || !v.chk(b) {
					t.Errorf("written form does not read back: %v\n%s", err, b)
				}
			}
		})
	}
}

// TestVectorAdditionalInfos reads additional_infos from the stored
// decrypted content of the real messages.
func TestVectorAdditionalInfos(t *testing.T) {
	tests := []struct{ dir, user, subject string }{
		{"TestnachrichtEeb_1", "DE.Justiz.a19afb3b-f92b-436e-aaff-e8de56a6d507.7650", "EB zu: 1 K 519/20.KO"},
		{"Testnachricht_xjustiz321", "DE.Justiz.7a7a0af6-daae-42a6-875c-3d9aec339a71.7c31", "Funktionsabfrage"},
	}
	re := regexp.MustCompile(`Base64Content Id="additional_infos">([^<]*)<`)
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			m := re.FindSubmatch(shared(t, "vectors/egvp/"+tc.dir+"/oscicontentdata.osci"))
			if m == nil {
				t.Fatal("no additional_infos")
			}
			raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(m[1])), ""))
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseAdditionalInfos(raw)
			if err != nil {
				t.Fatal(err)
			}
			if a["user_id"] != tc.user || a["subject"] != tc.subject || a["signature_level"] != "no" || len(a) != 3 {
				t.Fatalf("got %v", a)
			}
		})
	}
}

func TestAdditionalInfosRoundTrip(t *testing.T) {
	in := AdditionalInfos{"user_id": "DE.Justiz.x.1", "subject": "Az: 5 OWi 12/26 = Übergabe # 1 \\ 😀\nzweite Zeile", "signature_level": "no"}
	b := in.Bytes([]string{"user_id", "signature_level", "subject"}, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	for _, c := range b {
		if c > 0x7e && c != '\r' && c != '\n' {
			t.Fatalf("non-ASCII octet in %q", b)
		}
	}
	if !bytes.HasPrefix(b, []byte("#Mon Jun 01 10:00:00 UTC 2026\r\nuser_id=DE.Justiz.x.1\r\n")) {
		t.Fatalf("layout %q", b)
	}
	out, err := ParseAdditionalInfos(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out["subject"] != in["subject"] {
		t.Fatalf("got %q", out["subject"])
	}
}

func TestVectorXJustiz(t *testing.T) {
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want XJustiz
	}{
		{"eeb return 2.x", func(t *testing.T) []byte {
			return shared(t, "vectors/egvp/TestnachrichtEeb_1/attachments/xjustiz_nachricht.xml")
		},
			XJustiz{Message: "nachricht.eeb.zuruecklaufend.2200007", Version: "2.4.0", MessageID: "714967a2-5e13-4c07-91c2-41adb4537bbc",
				ForeignID: "e238a754-f63d-4196-98e6-89c50f015b2e", EEBReturn: true}},
		{"submission 3.2.1", func(t *testing.T) []byte {
			return shared(t, "vectors/egvp/Testnachricht_xjustiz321/attachments/xjustiz_nachricht.xml")
		}, XJustiz{Message: "nachricht.gds.uebermittlungSchriftgutobjekte.0005005", Version: "3.2.1", MessageID: "62f956dd-af24-4ab3-a6ae-fbe28244b380"}},
		{"eeb requested", xjustizWithEEB, XJustiz{Message: "nachricht.gds.uebermittlungSchriftgutobjekte.0005005", Version: "3.2.1",
			MessageID: "62f956dd-af24-4ab3-a6ae-fbe28244b380", EEBRequested: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ParseXJustiz(bytes.NewReader(tc.data(t)), xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if x != tc.want {
				t.Fatalf("got %+v", x)
			}
		})
	}
}

func TestFormsRefuse(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		target error
	}{
		{"doctype", `<!DOCTYPE Nachricht [<!ENTITY x "y">]><Nachricht><Betreff>&x;</Betreff></Nachricht>`, xmlsec.ErrDoctype},
		{"wrong root", `<Visitenkarte/>`, ErrInvalid},
		{"namespaced root", `<Nachricht xmlns="urn:x"/>`, ErrInvalid},
		{"repeated field", `<Nachricht><Betreff>a</Betreff><Betreff>b</Betreff></Nachricht>`, ErrInvalid},
		{"too deep", strings.Repeat("<a>", 80) + strings.Repeat("</a>", 80), xmlsec.ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNachricht([]byte(tc.data), xmlsec.Limits{})
			if !errors.Is(err, tc.target) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want %v", err, tc.target)
			}
		})
	}
	if _, err := ParseXJustiz(strings.NewReader(`<Nachricht/>`), xmlsec.Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("xjustiz: %v", err)
	}
}

// TestVectorVHNCertificate: the VHN certificate of a real beBPo message
// names the sender's SAFE-ID (additional_infos user_id) in its subject UID.
func TestVectorVHNCertificate(t *testing.T) {
	cs, err := certs.ParseCertificates(shared(t, "vectors/egvp/TestnachrichtEeb_1/certificates/originator_transportsignatur.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := certSafeID(cs[0]); got != "DE.Justiz.a19afb3b-f92b-436e-aaff-e8de56a6d507.7650" {
		t.Fatalf("uid %q", got)
	}
	if got := certSafeID(certstest.PKICert(t, "mailbox-signature")); got != "" {
		t.Fatalf("uid %q", got)
	}
	// Two UIDs name no mailbox: fail closed rather than pick one.
	_, two := certstest.Issue(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "two", ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: oidUID, Value: ourID}, {Type: oidUID, Value: theirID}}}}, nil)
	if got := certSafeID(two); got != "" {
		t.Fatalf("two UIDs gave %q", got)
	}
}
