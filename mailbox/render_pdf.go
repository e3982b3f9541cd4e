package mailbox

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// FileReportPDF is the Prüfprotokoll as the records office files it.
const FileReportPDF = "pruefprotokoll.pdf"

// reportPDF lays out the Prüfprotokoll on A4: headings and tables of
// label and value, wrapped, in the core font Helvetica (Windows-1252 holds
// every German letter; another character is shown as a question mark).
type reportPDF struct {
	f  *fpdf.Fpdf
	tr func(string) string
}

const (
	pdfLabelWidth = 55.0
	pdfValueWidth = 125.0
	pdfLine       = 4.6
	pdfBottom     = 280.0
)

func (p *reportPDF) heading(s string) {
	if p.f.GetY() > pdfBottom-20 {
		p.f.AddPage()
	}
	p.f.Ln(3)
	p.f.SetFont("Helvetica", "B", 12)
	p.f.CellFormat(0, 7, p.tr(s), "", 1, "L", false, 0, "")
	p.f.SetFont("Helvetica", "", 9)
}

func (p *reportPDF) para(s string) {
	p.f.MultiCell(pdfLabelWidth+pdfValueWidth, pdfLine, p.tr(s), "", "L", false)
}

// row is one line of a table: label and value, each wrapped in its column.
func (p *reportPDF) row(label, value string) {
	f := p.f
	f.SetFont("Helvetica", "B", 9)
	ll := f.SplitLines([]byte(p.tr(label)), pdfLabelWidth-2)
	f.SetFont("Helvetica", "", 9)
	vl := f.SplitLines([]byte(p.tr(value)), pdfValueWidth-2)
	n := max(len(ll), len(vl), 1)
	h := float64(n) * pdfLine
	if f.GetY()+h > pdfBottom {
		f.AddPage()
	}
	x, y := f.GetXY()
	f.Rect(x, y, pdfLabelWidth, h, "D")
	f.Rect(x+pdfLabelWidth, y, pdfValueWidth, h, "D")
	f.SetFont("Helvetica", "B", 9)
	for i, l := range ll {
		f.SetXY(x+1, y+float64(i)*pdfLine)
		f.CellFormat(pdfLabelWidth-2, pdfLine, string(l), "", 0, "L", false, 0, "")
	}
	f.SetFont("Helvetica", "", 9)
	for i, l := range vl {
		f.SetXY(x+pdfLabelWidth+1, y+float64(i)*pdfLine)
		f.CellFormat(pdfValueWidth-2, pdfLine, string(l), "", 0, "L", false, 0, "")
	}
	f.SetXY(x, y+h)
}

// RenderReportPDF returns pruefprotokoll.pdf: the same report as
// pruefprotokoll.html, in German and local time, for an eAkte that files
// PDFs. The output depends only on its input (the PDF's dates are the
// report's check time), so a delivery repeated gives the same bytes.
func RenderReportPDF(m IntakeMetadata, r VerificationReport) ([]byte, error) {
	f := fpdf.New("P", "mm", "A4", "")
	stamp := r.CheckedAt.UTC()
	if stamp.IsZero() {
		stamp = time.Unix(0, 0).UTC()
	}
	f.SetCreationDate(stamp)
	f.SetModificationDate(stamp)
	f.SetCatalogSort(true)
	f.SetTitle("Prüfprotokoll "+m.MessageID, true)
	f.SetAutoPageBreak(false, 15)
	f.SetMargins(15, 15, 15)
	p := &reportPDF{f: f, tr: f.UnicodeTranslatorFromDescriptor("")}
	f.AddPage()
	f.SetFont("Helvetica", "B", 16)
	f.CellFormat(0, 9, p.tr("Prüfprotokoll"), "", 1, "L", false, 0, "")
	f.SetFont("Helvetica", "", 9)

	overall := resultDE(r.Status())
	if r.ReasonText != "" {
		overall += ": " + r.ReasonText
	}
	p.row("Nachrichtenkennzeichen", m.MessageID)
	p.row("Gesamtergebnis", overall)
	if r.DocumentVerdict != "" {
		v := resultDE(r.DocumentVerdict)
		if r.DocumentVerdictText != "" {
			v += ": " + r.DocumentVerdictText
		}
		p.row("Signaturen der Dokumente", v)
	}
	vhn := yesNo(r.VHNPresent)
	if r.VHNText != "" {
		vhn += ": " + r.VHNText
	}
	p.row("Prüfzeitpunkt", LocalTime(r.CheckedAt))
	p.row("Übermittlungsweg (VHN)", vhn)
	p.row("Eingang beim Intermediär", LocalTime(m.Creation))
	p.row("Weiterleitung durch den Intermediär", LocalTime(m.Forwarding))
	p.row("Abholung (Empfangsbestätigung)", LocalTime(m.Reception))
	p.row("Empfängerpostfach", m.Mailbox)
	p.row("Betreff", m.UserSubject)
	p.row("OSCI-Betreff", m.OSCISubject)
	p.row("Aktenzeichen Absender / Empfänger", m.CaseNumberSender+" / "+m.CaseNumberRecipient)
	if m.SameContentAs != "" {
		p.row("Hinweis", "Gleicher Inhalt wie Nachricht "+m.SameContentAs+": die Dokumente gleichen denen einer früher eingegangenen Nachricht. Zugestellt wie jede andere Nachricht.")
	}
	for _, s := range r.Problems {
		p.para("Problem: " + s)
	}
	for _, s := range r.Notes {
		p.para("Hinweis: " + s)
	}

	p.heading("Absender (durch geprüftes Zertifikat bestätigt)")
	if c := m.Sender.Confirmed; c.TrustedFor != "" {
		p.row("Nutzer-ID (SAFE-ID)", or(c.SafeID, "nicht bestätigt"))
		p.row("Rolle", or(c.RoleID, "nicht bestätigt"))
		p.row("Zertifikat", c.Certificate)
		p.row("Aussteller", c.Issuer)
		p.row("Geprüft als", trustDE(c.TrustedFor))
	} else {
		p.para("Keine Angabe zum Absender ist durch ein geprüftes Zertifikat bestätigt.")
	}
	p.heading("Angaben des Absenders (nicht bestätigt)")
	p.para("Vom Absender selbst angegeben (Visitenkarte); nicht geprüft.")
	p.row("Nutzer-ID (SAFE-ID)", m.Sender.Claimed.SafeID)
	p.row("Rollen-ID", m.Sender.Claimed.RoleID)
	p.row("Name", m.Sender.Claimed.Name)
	p.row("Organisation", m.Sender.Claimed.Organisation)
	for _, s := range r.SenderConflicts {
		p.para("Widerspruch: " + s)
	}
	for _, s := range r.SenderNotes {
		p.para("Hinweis: " + s)
	}

	p.heading("Signaturen")
	if len(r.Signatures) == 0 {
		p.para("Keine Signatur gefunden.")
	}
	for i, s := range r.Signatures {
		if i > 0 {
			f.Ln(2)
		}
		p.row("Objekt", s.Object+" ("+s.Kind+")")
		if s.Result != "" {
			p.row("Ergebnis", resultDE(s.Result))
		}
		p.row("Integrität", resultDE(s.Integrity))
		cert := resultDE(s.CertValidity)
		if s.CertType != "" {
			cert += " (" + s.CertType + ")"
		}
		p.row("Zertifikat", cert)
		p.row("Signierer", s.Signer)
		p.row("Aussteller", s.Issuer)
		p.row("Seriennummer", s.Serial)
		p.row("Signaturzeitpunkt", LocalTime(s.SigningTime))
		p.row("Prüfzeitpunkt", LocalTime(s.CheckedAt))
		if s.Detail != "" {
			p.row("Hinweis", s.Detail)
		}
	}

	p.heading("Dokumente")
	for _, d := range m.Documents {
		sig := "nicht signiert"
		if d.Signed {
			sig = "signiert" + coverageDE(d.Coverage) + " von " + strings.Join(d.SignedBy, "; ")
		}
		if d.DocumentSignature != "" {
			sig += " · Signatur im Dokument: " + resultDE(d.DocumentSignature)
		}
		p.row(d.FileName, fmt.Sprintf("%s · %d Bytes · SHA-256 %s · %s · %s", d.OriginalName, d.Size, d.SHA256, d.ContentType, sig))
	}
	if len(r.Contents) > 0 {
		p.heading("Inhalte")
		for _, c := range r.Contents {
			v := c.Kind
			if c.Document != "" {
				v += " " + c.Document
			}
			if !c.Delivered {
				v += " (nicht übergeben)"
			}
			if c.Signed {
				v += " · signiert" + coverageDE(c.Coverage) + " von " + strings.Join(c.SignedBy, "; ")
			} else {
				v += " · nicht signiert"
			}
			p.row(c.Container+" / "+or(c.Name, "(ohne Namen)"), v)
		}
	}
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, fmt.Errorf("mailbox: render %s: %w", FileReportPDF, err)
	}
	return b.Bytes(), nil
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
