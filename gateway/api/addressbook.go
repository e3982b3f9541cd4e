package api

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

// AddressList is the answer to GET /v1/addressbook.
type AddressList struct {
	Entries []addressbook.Recipient `json:"entries"`
}

// listAddresses answers every entry, or with ?q=TEXT those Book.Lookup
// finds (an empty list when none).
func (s *Server) listAddresses(w http.ResponseWriter, r *http.Request) error {
	if !r.URL.Query().Has("q") {
		writeJSON(w, http.StatusOK, AddressList{Entries: s.d.AddressBook.List()})
		return nil
	}
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		return field.Errorf(nil, "q", "is empty: give a SAFE-ID, a court code or part of a name")
	}
	found := s.d.AddressBook.Lookup(q)
	if found == nil {
		found = []addressbook.Recipient{}
	}
	writeJSON(w, http.StatusOK, AddressList{Entries: found})
	return nil
}

func (s *Server) getAddress(w http.ResponseWriter, r *http.Request) error {
	e, err := s.d.AddressBook.Get(r.PathValue("safeId"))
	return answerOK(w, e, err)
}

func (s *Server) postAddress(w http.ResponseWriter, r *http.Request) error {
	var e addressbook.Recipient
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &e, false); err != nil {
		return err
	}
	e, err := s.d.AddressBook.Add(r.Context(), e)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/addressbook/"+e.SafeID)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) putAddress(w http.ResponseWriter, r *http.Request) error {
	var e addressbook.Recipient
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &e, false); err != nil {
		return err
	}
	id := r.PathValue("safeId")
	if e.SafeID == "" {
		e.SafeID = id
	}
	if e.SafeID != id {
		return field.Errorf(nil, "safeId", "%q in the body differs from %q in the path", e.SafeID, id)
	}
	e, err := s.d.AddressBook.Update(r.Context(), e)
	return answerOK(w, e, err)
}

func (s *Server) deleteAddress(w http.ResponseWriter, r *http.Request) error {
	if err := s.d.AddressBook.Delete(r.PathValue("safeId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importAddresses takes a JSON or CSV file (addressbook.Parse) and adds
// or replaces all its entries at once; ?dryRun=true only reports what
// would change.
func (s *Server) importAddresses(w http.ResponseWriter, r *http.Request) error {
	var opt addressbook.ImportOptions
	if v := r.URL.Query().Get("dryRun"); v != "" {
		var err error
		if opt.DryRun, err = strconv.ParseBool(v); err != nil {
			return field.Errorf(nil, "dryRun", "must be true or false, not %q", v)
		}
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	format := map[string]string{"application/json": addressbook.FormatJSON, "text/csv": addressbook.FormatCSV}[mt]
	if format == "" {
		return field.Errorf(nil, "Content-Type", "must be application/json or text/csv, not %q", mt)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.lim.MaxImportBytes))
	if err != nil {
		return err
	}
	entries, err := addressbook.Parse(data, format)
	if err != nil {
		return err
	}
	res, err := s.d.AddressBook.Import(r.Context(), entries, opt)
	if err != nil {
		return err
	}
	LogImported(s.d.Logger, format, res)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// LogImported writes the log line of an address book import (format json
// or csv), from the API or the web application alike.
func LogImported(log *zap.Logger, format string, res addressbook.ImportResult) {
	log.Info("address book imported", zap.String("format", format), zap.Bool("dryRun", res.DryRun),
		zap.Int("added", res.Added), zap.Int("updated", res.Updated), zap.Int("unchanged", res.Unchanged))
}
