package web

import (
	"errors"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

type certRow struct {
	CertificateView
	Days int
	Warn bool
}

type opsData struct {
	Intermediaries []intermediaries.View
	Certificates   []certRow
	Directory      []addressbook.ExpirySummary
	Counts         []mailbox.StateCount
	Import         *addressbook.ImportResult
	ImportError    string
	Entries        int
}

// expiryWarnDays marks a certificate that ends within this many days.
const expiryWarnDays = 30

func (a *App) opsData(r *http.Request) (opsData, error) {
	now := a.c.Now()
	d := opsData{Directory: a.c.Book.Expiries(now), Entries: len(a.c.Book.List())}
	if a.c.Intermediaries != nil {
		d.Intermediaries = a.c.Intermediaries()
	}
	if a.c.OwnCertificates != nil {
		for _, c := range a.c.OwnCertificates() {
			days := int(c.NotAfter.Sub(now).Hours() / 24)
			if c.NotAfter.Before(now) {
				days--
			}
			d.Certificates = append(d.Certificates, certRow{c, days, days <= expiryWarnDays})
		}
	}
	counts, err := a.c.Store.CountByState(r.Context())
	if err != nil {
		return d, err
	}
	slices.SortFunc(counts, func(x, y mailbox.StateCount) int {
		return strings.Compare(x.Mailbox+string(x.Direction)+string(x.State), y.Mailbox+string(y.Direction)+string(y.State))
	})
	d.Counts = counts
	return d, nil
}

// ops is the Betrieb page.
func (a *App) ops(w http.ResponseWriter, r *http.Request, u User) error {
	d, err := a.opsData(r)
	if err != nil {
		return err
	}
	a.render(w, r, u, http.StatusOK, "ops", "Betrieb", d)
	return nil
}

// maxImportBytes bounds an address book file uploaded on the Betrieb page.
const maxImportBytes = 16 << 20

// importBook imports an address book file (JSON or CSV), as a dry run
// unless "uebernehmen" is set; the CSRF token is the form's first part.
func (a *App) importBook(w http.ResponseWriter, r *http.Request, u User) error {
	mr, err := a.multipartForm(w, r, maxImportBytes+64<<10)
	if err != nil {
		return err
	}
	var data []byte
	var name string
	apply := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errStatus(http.StatusBadRequest, "Die Datei kam nicht vollständig an oder ist größer als 16 MB.")
		}
		switch p.FormName() {
		case "uebernehmen":
			apply = true
		case "datei":
			name = p.FileName()
			if data, err = io.ReadAll(io.LimitReader(p, maxImportBytes+1)); err != nil || len(data) > maxImportBytes {
				return errStatus(http.StatusBadRequest, "Die Datei ist größer als 16 MB.")
			}
		}
	}
	d, err := a.opsData(r)
	if err != nil {
		return err
	}
	format := addressbook.FormatJSON
	if strings.EqualFold(path.Ext(name), ".csv") {
		format = addressbook.FormatCSV
	}
	entries, err := addressbook.Parse(data, format)
	if err == nil {
		var res addressbook.ImportResult
		res, err = a.c.Book.Import(r.Context(), entries, addressbook.ImportOptions{DryRun: !apply})
		if err == nil {
			d.Import = &res
			api.LogImported(a.c.Logger, format, res)
		}
	}
	code := http.StatusOK
	if err != nil {
		// The address book's reasons name the entry and field; they are shown as they are.
		d.ImportError, code = "Die Datei wurde nicht übernommen: "+err.Error(), http.StatusUnprocessableEntity
	}
	a.render(w, r, u, code, "ops", "Betrieb", d)
	return nil
}
