package ervb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/pdf"
)

// pdfRisk is what the ERVB forbids in a PDF, and how the clerk is told.
var pdfRiskText = map[Rule]string{
	RulePDFJavaScript:   "Das PDF enthält JavaScript (%s); aktive Inhalte sind nach der ERVB nicht zulässig.",
	RulePDFEmbeddedFile: "Das PDF enthält eingebettete Dateien (%s); eingebettete Objekte sind nach der ERVB nicht zulässig.",
	RulePDFExternalCall: "Das PDF enthält Aktionen, die andere Programme oder Dateien aufrufen oder Daten versenden (%s); das ist nach der ERVB nicht zulässig.",
	RulePDFExternalRef:  "Das PDF lädt Inhalte von außerhalb der Datei nach (%s); das ist nach der ERVB nicht zulässig.",
	RulePDFLink:         "Das PDF enthält Verweise auf Internetadressen (%s); sie werden mitgesendet, aber nicht geöffnet.",
	RulePDFFontMissing:  "Schriftarten sind nicht eingebettet (%s); die ERVB verlangt eingebettete Schriften, das Gericht sieht womöglich eine Ersatzschrift.",
}

var pdfRiskOrder = []Rule{RulePDFJavaScript, RulePDFEmbeddedFile, RulePDFExternalCall, RulePDFExternalRef, RulePDFLink, RulePDFFontMissing}

// checkPDF opens the cross-reference, refuses an encrypted file and walks
// every object for what the ERVB forbids.
func checkPDF(ctx context.Context, name string, c content, lim Limits) Findings {
	one := func(rule Rule, format string, a ...any) Findings {
		return Findings{{Severity: SeverityError, File: name, Rule: rule, Message: fmt.Sprintf(format, a...)}}
	}
	f, err := pdf.Open(c.r, c.size, lim.PDF)
	if err != nil {
		return pdfErr(name, err)
	}
	if f.Encrypted() {
		return one(RulePDFEncrypted, "Das PDF ist verschlüsselt oder kennwortgeschützt; Gerichte können es nicht verarbeiten.")
	}
	found := map[Rule]map[string]bool{}
	hit := func(r Rule, what string) {
		if found[r] == nil {
			found[r] = map[string]bool{}
		}
		found[r][what] = true
	}
	err = f.Each(func(_ pdf.Ref, o pdf.Object) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return scanObject(f, o, hit, 0)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // the caller returns ctx.Err()
		}
		return pdfErr(name, err)
	}
	var out Findings
	for _, r := range pdfRiskOrder {
		if len(found[r]) == 0 {
			continue
		}
		var items []string
		for it := range found[r] {
			items = append(items, it)
		}
		sort.Strings(items)
		if len(items) > 5 {
			items = append(items[:5], fmt.Sprintf("und %d weitere", len(items)-5))
		}
		sev := SeverityError
		if r == RulePDFLink || r == RulePDFFontMissing {
			sev = SeverityWarning
		}
		out = append(out, Finding{Severity: sev, File: name, Rule: r, Message: fmt.Sprintf(pdfRiskText[r], strings.Join(items, ", "))})
	}
	return out
}

func pdfErr(name string, err error) Findings {
	f := Finding{Severity: SeverityError, File: name, Rule: RulePDFUnreadable,
		Message: "Das PDF ist beschädigt oder nicht normgerecht aufgebaut (" + err.Error() + "); bitte neu als PDF speichern."}
	if errors.Is(err, pdf.ErrLimit) {
		f.Rule = RuleCheckLimit
		f.Message = "Das PDF ist zu umfangreich oder zu verschachtelt, um es zu prüfen (" + err.Error() + ")."
	}
	return Findings{f}
}

// actions maps the action types (/S) the ERVB forbids to their rule.
var actions = map[pdf.Name]Rule{
	"JavaScript": RulePDFJavaScript,
	"Launch":     RulePDFExternalCall,
	"GoToR":      RulePDFExternalCall,
	"GoToE":      RulePDFExternalCall,
	"SubmitForm": RulePDFExternalCall,
	"ImportData": RulePDFExternalCall,
	"URI":        RulePDFLink,
}

// scanObject reports the risks in o and everything directly inside it
// (not through references: those objects are visited on their own).
func scanObject(f *pdf.File, o pdf.Object, hit func(Rule, string), depth int) error {
	switch v := o.(type) {
	case pdf.Array:
		for _, e := range v {
			if err := scanObject(f, e, hit, depth+1); err != nil {
				return err
			}
		}
	case *pdf.Stream:
		if v.Dict.Has("F") || v.Dict.Has("FFilter") {
			hit(RulePDFExternalRef, "externe Datenströme")
		}
		return scanDict(f, v.Dict, hit, depth)
	case pdf.Dict:
		return scanDict(f, v, hit, depth)
	}
	return nil
}

func scanDict(f *pdf.File, d pdf.Dict, hit func(Rule, string), depth int) error {
	typ, _ := d.Name("Type")
	sub, _ := d.Name("Subtype")
	if s, ok := d.Name("S"); ok {
		if r, bad := actions[s]; bad {
			hit(r, "/"+string(s))
		}
	}
	for k := range d {
		switch k {
		case "JS", "JavaScript":
			hit(RulePDFJavaScript, "/"+string(k))
		case "XFA":
			hit(RulePDFJavaScript, "XFA-Formular")
		case "EmbeddedFiles", "EF":
			hit(RulePDFEmbeddedFile, "/"+string(k))
		}
	}
	switch {
	case typ == "EmbeddedFile":
		hit(RulePDFEmbeddedFile, "/EmbeddedFile")
	case sub == "FileAttachment" || sub == "RichMedia" || sub == "3D" || sub == "Movie" || sub == "Sound":
		hit(RulePDFEmbeddedFile, "/"+string(sub))
	case typ == "XObject" && sub == "Form" && d.Has("Ref"):
		hit(RulePDFExternalRef, "Referenz-XObject")
	}
	if fs, _ := d.Name("FS"); fs == "URL" {
		hit(RulePDFExternalRef, "URL-Dateiangabe")
	}
	if typ == "Font" {
		if err := checkFont(f, d, sub, hit); err != nil {
			return err
		}
	}
	for _, v := range d {
		if err := scanObject(f, v, hit, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkFont reports a simple or CID font whose descriptor names no font
// program (/FontFile, /FontFile2, /FontFile3). Type0 fonts are checked
// through their descendant, Type3 fonts are drawn by the file itself.
func checkFont(f *pdf.File, d pdf.Dict, sub pdf.Name, hit func(Rule, string)) error {
	switch sub {
	case "Type1", "MMType1", "TrueType", "CIDFontType0", "CIDFontType2":
	default:
		return nil
	}
	name, _ := d.Name("BaseFont")
	fd, err := f.Resolve(d["FontDescriptor"])
	if err != nil {
		return err
	}
	if desc, ok := fd.(pdf.Dict); ok && (desc.Has("FontFile") || desc.Has("FontFile2") || desc.Has("FontFile3")) {
		return nil
	}
	if name == "" {
		name = "ohne Namen"
	}
	hit(RulePDFFontMissing, string(name))
	return nil
}
