package osci

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

type collected struct {
	h    PartHeader
	data []byte
}

func collect(t *testing.T, raw []byte, lim MIMELimits) (*Entity, []collected) {
	t.Helper()
	var parts []collected
	e, err := ReadEntity(bytes.NewReader(raw), lim, SinkFunc(func(h PartHeader, r io.Reader) error {
		b, err := io.ReadAll(r)
		parts = append(parts, collected{h, b})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return e, parts
}

// TestMIMEVectors reads every stored message and re-emits the reference
// library's own requests byte for byte.
func TestMIMEVectors(t *testing.T) {
	tests := []struct {
		file      string
		parts     []string // attachment content ids
		reemit    bool
		encrypted bool
	}{
		{"vectors/osci-java/requests-plain/initDialog.mime", nil, true, false},
		{"vectors/osci-java/requests-plain/getMessageId.mime", nil, true, false},
		{"vectors/osci-java/requests-plain/storeDelivery.mime", []string{"plain.txt", "secret.txt"}, true, false},
		{"vectors/osci-java/requests-encrypted/initDialog.mime", []string{EncryptedContentID}, true, true},
		{"vectors/osci-java/requests-encrypted/getMessageId.mime", []string{EncryptedContentID}, true, true},
		{"vectors/osci-java/requests-encrypted/storeDelivery.mime", []string{EncryptedContentID}, true, true},
		// LF-normalised by git at the source; lengths no longer match their Content-Length.
		{"vectors/egvp/TestnachrichtEeb_1/oscicontentdata.osci", []string{"xjustiz_nachricht.xml"}, false, false},
		{"vectors/egvp/Testnachricht_xjustiz321/oscicontentdata.osci", []string{"xjustiz_nachricht.xml",
			"002_Antrag_auf_richterliche_Entscheidung_zur_Wohnungsdurchsuchung.pdf", "003_Sachverhalt.pdf",
			"001_Ermittlungsübersicht_Abverfügung.pdf"}, false, false},
	}
	for _, tc := range tests {
		name := tc.file[strings.Index(tc.file, "/")+1:]
		t.Run(name, func(t *testing.T) {
			raw := readShared(t, tc.file)
			e, parts := collect(t, raw, MIMELimits{})
			if !bytes.HasPrefix(e.SOAP, []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")) || !bytes.Contains(e.SOAP, []byte("</soap:Envelope>")) {
				t.Fatalf("soap part: %q...", e.SOAP[:min(80, len(e.SOAP))])
			}
			var ids []string
			for _, p := range parts {
				ids = append(ids, p.h.ContentID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.parts) {
				t.Fatalf("attachments %q, want %q", ids, tc.parts)
			}
			if !tc.reemit {
				return
			}
			var out bytes.Buffer
			w := NewMIMEWriter(&out, e.Boundary)
			env := bytes.TrimPrefix(e.SOAP, []byte(XMLDeclaration))
			if tc.encrypted {
				env = bytes.TrimSuffix(env, []byte("\r\n"))
			}
			if err := w.WriteSOAP(env, tc.encrypted); err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				a := Attachment{ContentID: p.h.ContentID, Encoding: p.h.Encoding, Size: p.h.ContentLength, Body: bytes.NewReader(p.data)}
				if err := w.WriteAttachment(a); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			want := raw
			if tc.encrypted {
				// The library declares a wrong Content-Length on the encrypted
				// envelope (it omits the certificate); we write the true one.
				want = bytes.Replace(raw, []byte("Content-Length: 2202\r\n"), []byte(fmt.Sprintf("Content-Length: %d\r\n", len(e.SOAP))), 1)
			}
			if !bytes.Equal(out.Bytes(), want) {
				i := 0
				for i < len(want) && i < out.Len() && want[i] == out.Bytes()[i] {
					i++
				}
				t.Fatalf("re-emitted entity differs at %d: %q vs %q", i, out.Bytes()[i:min(out.Len(), i+40)], want[i:min(len(want), i+40)])
			}
		})
	}
}

func buildEntity(t *testing.T, soap string, atts ...Attachment) []byte {
	t.Helper()
	var b bytes.Buffer
	w := NewMIMEWriter(&b, "MIME_boundary_test")
	if err := w.WriteSOAP([]byte(soap), false); err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		if err := w.WriteAttachment(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMIMEStreamingRoundTrip writes attachments of lengths around the reader's
// buffer sizes, some base64, and reads them back one byte per Read.
func TestMIMEStreamingRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 17, mimeChunk - 20, mimeChunk - 1, mimeChunk, mimeChunk + 1, 3*mimeChunk + 7, 200000}
	var atts []Attachment
	var sums [][32]byte
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(r.IntN(256))
		}
		if n > 10 { // a near-delimiter inside the data must not end the part
			copy(data[n/2:], "\r\n--MIME_boundary_tes")
		}
		enc := EncodingAttachment
		if i%3 == 2 {
			enc = EncodingBase64
		}
		atts = append(atts, Attachment{ContentID: fmt.Sprintf("att%d", i), Encoding: enc, Size: int64(n), Body: bytes.NewReader(data)})
		sums = append(sums, sha256.Sum256(data))
	}
	raw := buildEntity(t, "<soap:Envelope></soap:Envelope>", atts...)
	for _, oneByte := range []bool{false, true} {
		var src io.Reader = bytes.NewReader(raw)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		i := 0
		e, err := ReadEntity(src, MIMELimits{}, SinkFunc(func(h PartHeader, r io.Reader) error {
			hs := sha256.New()
			if _, err := io.Copy(hs, r); err != nil {
				return err
			}
			if [32]byte(hs.Sum(nil)) != sums[i] {
				t.Errorf("attachment %d (%d bytes) differs", i, sizes[i])
			}
			i++
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Attachments) != len(sizes) || string(e.SOAP) != XMLDeclaration+"<soap:Envelope></soap:Envelope>" {
			t.Fatalf("got %d attachments, soap %q", len(e.Attachments), e.SOAP)
		}
	}
}

// TestMIMETextBase64 accepts the older text/base64 parts.
func TestMIMETextBase64(t *testing.T) {
	raw := "MIME-Version: 1.0\r\nContent-Type: Multipart/Related; boundary=B; type=text/xml\r\n\r\n" +
		"--B\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\nContent-ID: <osci@message>\r\n\r\n<a/>\r\n" +
		"--B\r\nContent-Type: text/base64\r\nContent-Transfer-Encoding: 7bit\r\nContent-ID: <x>\r\n\r\naGVs\r\nbG8=\r\n--B--\r\n"
	_, parts := collect(t, []byte(raw), MIMELimits{})
	if len(parts) != 1 || string(parts[0].data) != "hello" {
		t.Fatalf("parts %+v", parts)
	}
}

func TestMIMELimitsAndErrors(t *testing.T) {
	big := Attachment{ContentID: "big", Size: 5000, Body: bytes.NewReader(make([]byte, 5000))}
	valid := buildEntity(t, "<soap:Envelope></soap:Envelope>", big,
		Attachment{ContentID: "small", Size: 3, Body: strings.NewReader("abc")})
	tests := []struct {
		name string
		raw  []byte
		lim  MIMELimits
		want error
	}{
		{"max parts", valid, MIMELimits{MaxParts: 2}, ErrLimit},
		{"max header bytes", valid, MIMELimits{MaxHeaderBytes: 60}, ErrLimit},
		{"max soap bytes", valid, MIMELimits{MaxSOAPBytes: 20}, ErrLimit},
		{"max attachment bytes", valid, MIMELimits{MaxAttachmentBytes: 4999}, ErrLimit},
		{"max total bytes", valid, MIMELimits{MaxTotalBytes: int64(len(valid) - 1)}, ErrLimit},
		{"truncated", valid[:len(valid)-300], MIMELimits{}, ErrMIMETruncated},
		{"no closing delimiter", bytes.TrimSuffix(valid, []byte("--MIME_boundary_test--\r\n")), MIMELimits{}, ErrMIMETruncated},
		{"not multipart", []byte("Content-Type: text/xml\r\n\r\n<a/>"), MIMELimits{}, ErrMIME},
		{"no boundary", []byte("Content-Type: Multipart/Related; type=text/xml\r\n\r\n"), MIMELimits{}, ErrMIME},
		{"header without colon", []byte("MIME-Version 1.0\r\n\r\n"), MIMELimits{}, ErrMIME},
		{"soap part not first", buildEntityFirst(t), MIMELimits{}, ErrMissingSOAPPart},
		{"no part", []byte("Content-Type: Multipart/Related; boundary=B\r\n\r\n--B--\r\n"), MIMELimits{}, ErrMissingSOAPPart},
		{"duplicate content id", buildEntity(t, "<a/>", Attachment{ContentID: "x", Size: 1, Body: strings.NewReader("1")},
			Attachment{ContentID: "x", Size: 1, Body: strings.NewReader("2")}), MIMELimits{}, ErrDuplicatePart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadEntity(bytes.NewReader(tc.raw), tc.lim, SinkFunc(func(h PartHeader, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			}))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("exact total limit", func(t *testing.T) {
		collect(t, valid, MIMELimits{MaxTotalBytes: int64(len(valid))})
	})
	t.Run("nil sink refuses attachments", func(t *testing.T) {
		if _, err := ReadEntity(bytes.NewReader(valid), MIMELimits{}, nil); !errors.Is(err, ErrMIME) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sink error aborts", func(t *testing.T) {
		boom := errors.New("disk full")
		_, err := ReadEntity(bytes.NewReader(valid), MIMELimits{}, SinkFunc(func(PartHeader, io.Reader) error { return boom }))
		if !errors.Is(err, ErrAttachmentSink) || !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
}

func buildEntityFirst(t *testing.T) []byte {
	raw := buildEntity(t, "<a/>")
	return bytes.Replace(raw, []byte("<osci@message>"), []byte("<other>"), 1)
}

func TestMIMEWriterChecks(t *testing.T) {
	var b bytes.Buffer
	w := NewMIMEWriter(&b, "B")
	if err := w.WriteAttachment(Attachment{ContentID: "a", Body: strings.NewReader("")}); err == nil {
		t.Fatal("attachment before soap part accepted")
	}
	if err := w.WriteSOAP([]byte("<a/>"), false); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAttachment(Attachment{ContentID: "a", Size: 5, Body: strings.NewReader("abc")}); !errors.Is(err, ErrMIME) {
		t.Fatalf("short body: %v", err)
	}
	w = NewMIMEWriter(&b, "B")
	_ = w.WriteSOAP([]byte("<a/>"), false)
	if err := w.WriteAttachment(Attachment{ContentID: "a>\r\nX-Evil: 1", Size: -1, Body: strings.NewReader("")}); !errors.Is(err, ErrMIME) {
		t.Fatalf("header injection: %v", err)
	}
}

func TestNewBoundary(t *testing.T) {
	b, err := NewBoundary(certstest.DetRand("b"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b, "MIME_boundary_") || len(b) != len("MIME_boundary_")+32 {
		t.Fatalf("boundary %q", b)
	}
}
