package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

// AddressList is the answer to GET /v1/addressbook.
type AddressList struct {
	Entries []addressbook.Recipient `json:"entries"`
}

func (s *Server) listAddresses(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, AddressList{Entries: s.d.AddressBook.List()})
	return nil
}

func (s *Server) getAddress(w http.ResponseWriter, r *http.Request) error {
	e, err := s.d.AddressBook.Get(r.PathValue("safeId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
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
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) deleteAddress(w http.ResponseWriter, r *http.Request) error {
	if err := s.d.AddressBook.Delete(r.PathValue("safeId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importAddresses takes a JSON file (an array of entries, or an object
// with "entries") or a CSV file with a header row, and adds or replaces
// all its entries at once.
func (s *Server) importAddresses(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.lim.MaxImportBytes))
	if err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var entries []addressbook.Recipient
	switch mt {
	case "application/json":
		entries, err = parseAddressJSON(data)
	case "text/csv":
		entries, err = parseAddressCSV(data)
	default:
		return field.Errorf(nil, "Content-Type", "must be application/json or text/csv, not %q", mt)
	}
	if err != nil {
		return err
	}
	res, err := s.d.AddressBook.Import(r.Context(), entries)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// parseAddressJSON reads [entry...] or {"entries": [entry...]}.
func parseAddressJSON(data []byte) ([]addressbook.Recipient, error) {
	data = bytes.TrimSpace(data)
	var list []addressbook.Recipient
	strict := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		return dec.Decode(v)
	}
	if len(data) > 0 && data[0] == '[' {
		if err := strict(&list); err != nil {
			return nil, field.Errorf(nil, "entries", "not a JSON list of entries: %v", err)
		}
		return list, nil
	}
	var wrapped AddressList
	if err := strict(&wrapped); err != nil {
		return nil, field.Errorf(nil, "entries", "not a JSON object with entries: %v", err)
	}
	return wrapped.Entries, nil
}

// addressCSVColumns are the CSV header names (case-insensitive).
var addressCSVColumns = []string{"safeId", "name", "organisation", "cipherCert", "intermediaryUrl"}

// parseAddressCSV reads a CSV file whose first row names the columns;
// safeId, name and cipherCert (PEM, a quoted multi-line field) are needed.
func parseAddressCSV(data []byte) ([]addressbook.Recipient, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = 0
	head, err := cr.Read()
	if err != nil {
		return nil, field.Errorf(nil, "csv", "no header row: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		known := false
		for _, c := range addressCSVColumns {
			if strings.EqualFold(h, c) {
				col[c], known = i, true
			}
		}
		if !known {
			return nil, field.Errorf(nil, "csv.header", "unknown column %q (known: %s)", h, strings.Join(addressCSVColumns, ", "))
		}
	}
	for _, need := range []string{"safeId", "name", "cipherCert"} {
		if _, ok := col[need]; !ok {
			return nil, field.Errorf(nil, "csv.header", "column %q is required", need)
		}
	}
	var out []addressbook.Recipient
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, field.Errorf(nil, fmt.Sprintf("csv.row[%d]", row), "%v", err)
		}
		get := func(c string) string {
			if i, ok := col[c]; ok {
				return rec[i]
			}
			return ""
		}
		out = append(out, addressbook.Recipient{SafeID: get("safeId"), Name: get("name"), Organisation: get("organisation"),
			CipherCert: get("cipherCert"), Intermediary: get("intermediary"), IntermediaryURL: get("intermediaryUrl")})
	}
}
