package addressbook

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

// Formats of an import file.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// CSVColumns are the columns an import CSV may have (header names,
// case-insensitive; safeId, name and cipherCert are required).
var CSVColumns = []string{"safeId", "name", "organisation", "courtCode", "intermediary", "intermediaryUrl", "cipherCert"}

// Parse reads an import file of the directory exports authorities get:
// FormatJSON, a list of entries or an object {"entries": [...]} (unknown
// fields are errors); FormatCSV, a header row naming CSVColumns, then one
// entry a row, separated by "," or ";" (what the header uses), the
// certificate as PEM (a quoted multi-line field) or base64 DER. Errors are
// field.Errors: "entries", "csv.header" or "csv.row[N]" (N counts the
// header as row 1). Nothing is checked beyond the file's form; Import
// checks the entries.
func Parse(data []byte, format string) ([]Recipient, error) {
	switch format {
	case FormatJSON:
		return parseJSON(data)
	case FormatCSV:
		return parseCSV(data)
	}
	return nil, field.Errorf(nil, "format", "must be %s or %s, not %q", FormatJSON, FormatCSV, format)
}

// importFile is the {"entries": [...]} form; it is also what
// GET /v1/addressbook answers, so a list can be imported again.
type importFile struct {
	Entries []Recipient `json:"entries"`
}

func parseJSON(data []byte) ([]Recipient, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\ufeff")))
	strict := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return err
		}
		if dec.More() {
			return errors.New("more than one JSON value")
		}
		return nil
	}
	if len(data) > 0 && data[0] == '[' {
		var list []Recipient
		if err := strict(&list); err != nil {
			return nil, field.Errorf(nil, "entries", "not a JSON list of entries: %v", err)
		}
		return list, nil
	}
	var f importFile
	if err := strict(&f); err != nil {
		return nil, field.Errorf(nil, "entries", "not a JSON object with entries: %v", err)
	}
	return f.Entries, nil
}

func parseCSV(data []byte) ([]Recipient, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = csvSeparator(data)
	cr.FieldsPerRecord = 0
	head, err := cr.Read()
	if err != nil {
		return nil, field.Errorf(nil, "csv.header", "no header row: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(h)
		known := false
		for _, c := range CSVColumns {
			if strings.EqualFold(h, c) {
				if _, dup := col[c]; dup {
					return nil, field.Errorf(nil, "csv.header", "column %q given twice", c)
				}
				col[c], known = i, true
			}
		}
		if !known {
			return nil, field.Errorf(nil, "csv.header", "unknown column %q (known: %s)", h, strings.Join(CSVColumns, ", "))
		}
	}
	for _, need := range []string{"safeId", "name", "cipherCert"} {
		if _, ok := col[need]; !ok {
			return nil, field.Errorf(nil, "csv.header", "column %q is required", need)
		}
	}
	var out []Recipient
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
		out = append(out, Recipient{SafeID: get("safeId"), Name: get("name"), Organisation: get("organisation"),
			CourtCode: get("courtCode"), CipherCert: get("cipherCert"), Intermediary: get("intermediary"),
			IntermediaryURL: get("intermediaryUrl")})
	}
}

// csvSeparator is ';' when the header row holds more semicolons than
// commas (the German spreadsheet export), else ','.
func csvSeparator(data []byte) rune {
	head, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(head, []byte(";")) > bytes.Count(head, []byte(",")) {
		return ';'
	}
	return ','
}
