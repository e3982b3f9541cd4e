package mailbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Intake errors.
var (
	ErrIntakeConflict   = errors.New("mailbox: intake entry exists with other content")
	ErrIntakeIncomplete = errors.New("mailbox: intake entry incomplete or damaged")
	ErrIntakeRejected   = errors.New("mailbox: intake endpoint rejected the message")
)

// entryFile is one file of an intake entry: rendered bytes or a blob.
type entryFile struct {
	Path        string // slash-separated, relative to the entry
	ContentType string
	Data        []byte // rendered files
	Blob        *IntakeFile
}

func (f entryFile) open() (io.ReadCloser, error) {
	if f.Blob != nil {
		return f.Blob.Open()
	}
	return io.NopCloser(bytes.NewReader(f.Data)), nil
}

func (f entryFile) size() int64 {
	if f.Blob != nil {
		return f.Blob.Size
	}
	return int64(len(f.Data))
}

func (f entryFile) sha256() string {
	if f.Blob != nil {
		return f.Blob.SHA256
	}
	s := sha256.Sum256(f.Data)
	return hex.EncodeToString(s[:])
}

// entryFiles lists every file of an entry except the manifest, in the
// order they are written.
func entryFiles(m *IntakeMessage) ([]entryFile, error) {
	var out []entryFile
	for i := range m.Documents {
		d := &m.Documents[i]
		if d.FileName != SafeFileName(d.FileName) {
			return nil, fmt.Errorf("%w: unsafe document name %q", ErrInvalidInput, d.FileName)
		}
		out = append(out, entryFile{Path: DocumentsDir + "/" + d.FileName, ContentType: d.ContentType, Blob: d})
	}
	var roles []string
	for _, c := range m.Report.Certificates {
		roles = append(roles, c.Role+".crt")
	}
	for i, name := range UniqueFileNames(roles) {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.Report.Certificates[i].DER})
		out = append(out, entryFile{Path: CertificatesDir + "/" + name, ContentType: "application/x-pem-file", Data: b})
	}
	if m.Original.Open != nil {
		out = append(out, entryFile{Path: FileOriginal, ContentType: "multipart/related", Blob: &m.Original})
	}
	js, err := RenderMetadataJSON(m.Metadata)
	if err != nil {
		return nil, err
	}
	xm, err := RenderMetadataXML(m.Metadata)
	if err != nil {
		return nil, err
	}
	rx, err := RenderReportXML(m.Metadata, m.Report)
	if err != nil {
		return nil, err
	}
	rh, err := RenderReportHTML(m.Metadata, m.Report)
	if err != nil {
		return nil, err
	}
	rp, err := RenderReportPDF(m.Metadata, m.Report)
	if err != nil {
		return nil, err
	}
	return append(out,
		entryFile{Path: FileMetadataJSON, ContentType: "application/json", Data: js},
		entryFile{Path: FileMetadataXML, ContentType: "application/xml", Data: xm},
		entryFile{Path: FileReportXML, ContentType: "application/xml", Data: rx},
		entryFile{Path: FileReportHTML, ContentType: "text/html; charset=utf-8", Data: rh},
		entryFile{Path: FileReportPDF, ContentType: "application/pdf", Data: rp},
	), nil
}

// Manifest is the content of manifest.sha256: one "sha256  path" line per
// file (the format of sha256sum), sorted by path.
func Manifest(sums map[string]string) []byte {
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", sums[p], p)
	}
	return b.Bytes()
}

// ParseManifest reads manifest.sha256, refusing paths that leave the entry.
func ParseManifest(b []byte) (map[string]string, error) {
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		sum, p, ok := strings.Cut(line, "  ")
		if !ok || !validHex(sum) || p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
			return nil, fmt.Errorf("%w: bad manifest line %q", ErrIntakeIncomplete, line)
		}
		sums[p] = sum
	}
	return sums, nil
}

// hashingCopy copies r to w and checks the SHA-256 of what was copied.
func hashingCopy(w io.Writer, r io.Reader, want string) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		return "", err
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return got, fmt.Errorf("%w: content hashes to %s, expected %s", ErrBlobCorrupt, got, want)
	}
	return got, nil
}
