package iface

import (
	"net/http"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
)

// ASSUMPTIONS ABOUT THE WIRE. The register authority has not published
// the format of its official interface (§1 Abs. 3 Nr. 2, §3 and §14 WRegV;
// no XÖV standard or schema could be found). Everything this adapter
// assumes about requests, answers, status codes and paths is in this file
// and nowhere else, so that the real format replaces this one file (and
// the simulator, register/registersim, which speaks it too). Assumed:
//
//  1. Transport: HTTPS with a TLS client certificate, the authority's
//     software certificate (the .p12 the portal uses), and the server
//     verified against the configured roots.
//  2. A query is POST {base}/abfragen with a JSON QueryWire body and the
//     header Idempotency-Key; the same key always yields the same query
//     (a repeated POST makes no second one) and its reference.
//     201 or 200 with SubmitWire: accepted. 422 with ErrorWire: refused
//     (permanent). 429, 5xx, a timeout or a cut connection: temporary.
//  3. The answer is GET {base}/abfragen/{referenz}: 200 with StatusWire,
//     whose status is "in_bearbeitung" (not yet answered: poll again),
//     "beantwortet" (the answer document base64 in auskunft, eintragungen
//     says whether it has entries) or "abgelehnt" (refused, grund).
//     404 for a reference the register does not know: permanent.
//  4. Bodies are UTF-8 JSON with the field names below (German, as the
//     register's forms name them); an answer document is at most
//     MaxAnswerBytes, and answer documents are PDF unless contentType says
//     otherwise.

// The assumed paths, header and status words.
const (
	PathQueries          = "/abfragen"
	HeaderIdempotencyKey = "Idempotency-Key"

	StatusPending  = "in_bearbeitung"
	StatusAnswered = "beantwortet"
	StatusRefused  = "abgelehnt"
)

// QueryWire is the assumed body of a query (§5 Abs. 2 WRegV).
type QueryWire struct {
	Verfahren    VerfahrenWire    `json:"verfahren"`
	Unternehmen  UnternehmenWire  `json:"unternehmen"`
	Bestaetigung BestaetigungWire `json:"bestaetigung"`
	Freiwillig   bool             `json:"freiwillig"`
}

// VerfahrenWire is the award procedure.
type VerfahrenWire struct {
	Aktenzeichen     string `json:"aktenzeichen"`
	Kurzbeschreibung string `json:"kurzbeschreibung"`
	Fundstelle       string `json:"fundstelle,omitempty"`
}

// UnternehmenWire is the company data of §3 Abs. 1 Nr. 4 WRegG.
type UnternehmenWire struct {
	Firma                      string   `json:"firma"`
	Rechtsform                 string   `json:"rechtsform,omitempty"`
	GesetzlicheVertreter       []string `json:"gesetzlicheVertreter,omitempty"`
	VertretungsberGesellschaft []string `json:"vertretungsberechtigteGesellschafter,omitempty"`
	Anschrift                  string   `json:"anschrift"`
	Registergericht            string   `json:"registergericht,omitempty"`
	Registernummer             string   `json:"registernummer,omitempty"`
	AuslaendischesRegister     string   `json:"auslaendischesRegister,omitempty"`
	UStIdNr                    string   `json:"ustIdNr,omitempty"`
}

// BestaetigungWire is the confirmation of §5 Abs. 2 WRegV.
type BestaetigungWire struct {
	Text          string `json:"text"`
	BestaetigtVon string `json:"bestaetigtVon"`
}

// SubmitWire is the assumed answer to an accepted query.
type SubmitWire struct {
	Referenz string `json:"referenz"`
}

// StatusWire is the assumed answer to a poll.
type StatusWire struct {
	Status       string `json:"status"`
	Eintragungen bool   `json:"eintragungen,omitempty"`
	Auskunft     []byte `json:"auskunft,omitempty"` // base64 in JSON
	ContentType  string `json:"contentType,omitempty"`
	Grund        string `json:"grund,omitempty"`
}

// ErrorWire is the assumed body of a refusal.
type ErrorWire struct {
	Grund string `json:"grund"`
}

// MaxAnswerBytes bounds a poll response (the document in base64 and JSON).
const MaxAnswerBytes = 32 << 20

// The assumed status codes (2 and 3 above).
var (
	submitOK = []int{http.StatusOK, http.StatusCreated}
	pollOK   = []int{http.StatusOK}
)

// refusalStatus is a permanent refusal by the register.
func refusalStatus(code int) bool {
	return code == http.StatusUnprocessableEntity || code == http.StatusNotFound
}

// retryStatus is a status the same request may be repeated after.
func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// toWire is the assumed mapping of a query to its body.
func toWire(r register.AdapterRequest) QueryWire {
	c := r.Company
	return QueryWire{
		Verfahren: VerfahrenWire{Aktenzeichen: r.Procedure, Kurzbeschreibung: r.Description, Fundstelle: r.Publication},
		Unternehmen: UnternehmenWire{Firma: c.Name, Rechtsform: c.LegalForm, GesetzlicheVertreter: c.Representatives,
			VertretungsberGesellschaft: c.ManagingPartners, Anschrift: c.Address, Registergericht: c.RegistryCourt,
			Registernummer: c.RegisterNumber, AuslaendischesRegister: c.ForeignRegister, UStIdNr: c.VATID},
		Bestaetigung: BestaetigungWire{Text: r.Confirmation, BestaetigtVon: r.ConfirmedBy},
		Freiwillig:   r.Voluntary,
	}
}
