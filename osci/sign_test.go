package osci

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// loadKeyPair loads a sample keystore of the reference library.
func loadKeyPair(t testing.TB, name string) *certs.KeyPair {
	t.Helper()
	k, c, chain := certstest.ReferenceKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c, Chain: chain}
}

// pinned returns a key selector that trusts exactly the given certificates.
func pinned(cs ...*x509.Certificate) xmlsec.KeySelector {
	ts := certs.NewTrustStore()
	for _, c := range cs {
		ts.Pin(c)
	}
	return xmlsec.ValidatorSelector{V: &certs.Validator{Trust: ts, Now: func() time.Time { return fixedNow }}}
}

func memParts(parts []collected) xmlsec.AttachmentResolver {
	return func(cid string) (io.ReadCloser, error) {
		for _, p := range parts {
			if p.h.ContentID == cid {
				return io.NopCloser(bytes.NewReader(p.data)), nil
			}
		}
		return nil, fmt.Errorf("no part %q", cid)
	}
}

// TestVerifyReferenceVectors verifies the ClientSignature of every plain
// request of the reference library, attachments included.
func TestVerifyReferenceVectors(t *testing.T) {
	for _, name := range []string{"initDialog", "getMessageId", "storeDelivery"} {
		t.Run(name, func(t *testing.T) {
			e, parts := collect(t, readShared(t, "vectors/osci-java/requests-plain/"+name+".mime"), MIMELimits{})
			m, err := Parse(e.SOAP, xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range parts {
				ids = append(ids, p.h.ContentID)
			}
			signer := m.NonIntermediary.Get(SignatureOriginator)
			v, err := m.Verify(context.Background(), VerifyOptions{Keys: pinned(signer), Attachments: memParts(parts), AttachmentIDs: ids})
			if err != nil {
				t.Fatal(err)
			}
			if !v.Signer.Equal(signer) || v.Type != m.Type || v.ControlBlock != m.ControlBlock || v.MessageID != m.MessageID {
				t.Fatalf("verified %+v", v.Message)
			}
			// Someone else's key is not accepted.
			if _, err := m.Verify(context.Background(), VerifyOptions{Keys: pinned(loadCert(t, "carol_signature_4096")),
				Attachments: memParts(parts), AttachmentIDs: ids}); !errors.Is(err, xmlsec.ErrUntrustedKey) {
				t.Fatalf("untrusted signer: %v", err)
			}
		})
	}
}

// TestSignVerifyRoundTrip signs our messages (orders as alice, responses as
// the intermediary) and verifies them, then tampers with them.
func TestSignVerifyRoundTrip(t *testing.T) {
	alice, mgr := loadKeyPair(t, "alice_signature_4096"), loadKeyPair(t, "osci_manager_signature_4096")
	msgs := sampleMessages(t)
	attachment := []byte("%PDF-1.7\n")
	att := func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(attachment)), nil }
	for _, name := range []string{"storeDelivery", "fetchDelivery", "responseToFetchDelivery", "responseToInitDialog"} {
		t.Run(name, func(t *testing.T) {
			m := *msgs[name]
			kp := alice
			if m.Type.IsResponse() {
				kp = mgr
			} else {
				m.NonIntermediary = append(append(Certificates(nil), m.NonIntermediary...), NewCertEntry(SignatureOriginator, 0, kp.Cert))
				if m.Type == TypeStoreDelivery {
					m.NonIntermediary = m.NonIntermediary[:len(m.NonIntermediary)-1] // the sample already carries alice's
				}
			}
			var cids []string
			if m.Content != nil {
				cids = []string{"a.pdf"}
			}
			env, err := m.SignedEnvelope(Signer{Key: kp.Key, Certificate: kp.Cert}, att, cids...)
			if err != nil {
				t.Fatal(err)
			}
			opts := VerifyOptions{Keys: pinned(kp.Cert), Attachments: att, AttachmentIDs: cids}
			parsed, err := Parse(env, xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			v, err := parsed.Verify(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if v.ControlBlock != m.ControlBlock || len(v.Feedback) != len(m.Feedback) || len(v.ProcessCards) != len(m.ProcessCards) {
				t.Fatalf("verified message differs: %+v", v.Message)
			}
			// The signature sits right after the ControlBlock; the unsigned
			// blocks are untouched.
			unsigned, _ := m.Envelope()
			if !bytes.Equal(bytes.Replace(env, rawBlock(t, env, "osci:"+map[bool]string{true: "SupplierSignature", false: "ClientSignature"}[m.Type.IsResponse()]), nil, 1), unsigned) {
				t.Fatal("signing changed the signed blocks")
			}
			tamper := []struct {
				name string
				env  []byte
				opts VerifyOptions
				want error
			}{
				{"control block changed", bytes.Replace(env, []byte(`<osci:Challenge>`), []byte(`<osci:Challenge>x`), 1), opts, xmlsec.ErrDigestMismatch},
				{"certificate header changed", bytes.Replace(env, []byte(`<ds:X509Certificate>MII`), []byte(`<ds:X509Certificate>MII `), 1), opts, xmlsec.ErrDigestMismatch},
				{"unsigned header added", bytes.Replace(env, []byte("</soap:Header>"), []byte(`<x:Evil xmlns:x="urn:x" Id="evil"></x:Evil></soap:Header>`), 1), opts, xmlsec.ErrMissingReference},
				{"signature value changed", bytes.Replace(env, []byte("<ds:SignatureValue>"), []byte("<ds:SignatureValue>AAAA"), 1), opts, ErrSignature},
				{"unlisted attachment", env, VerifyOptions{Keys: opts.Keys, Attachments: att, AttachmentIDs: append(cids, "other.pdf")}, xmlsec.ErrMissingReference},
			}
			if cids != nil {
				evil := func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("%PDF-1.8\n")), nil }
				tamper = append(tamper, struct {
					name string
					env  []byte
					opts VerifyOptions
					want error
				}{"attachment changed", env, VerifyOptions{Keys: opts.Keys, Attachments: evil, AttachmentIDs: cids}, xmlsec.ErrDigestMismatch})
			}
			for _, tc := range tamper {
				t.Run(tc.name, func(t *testing.T) {
					p, err := Parse(tc.env, xmlsec.Limits{})
					if err == nil {
						_, err = p.Verify(context.Background(), tc.opts)
					}
					if !errors.Is(err, tc.want) {
						t.Fatalf("err = %v, want %v", err, tc.want)
					}
				})
			}
		})
	}
	t.Run("signer certificate not in message", func(t *testing.T) {
		m := *msgs["getMessageId"]
		if _, err := m.SignedEnvelope(Signer{Key: alice.Key, Certificate: alice.Cert}, nil); !errors.Is(err, ErrSignerCertificate) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unsigned message", func(t *testing.T) {
		p, err := Parse([]byte(envelopeOf(t, "getMessageId")), xmlsec.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verify(context.Background(), VerifyOptions{Keys: pinned(alice.Cert)}); !errors.Is(err, ErrNotSigned) {
			t.Fatalf("err = %v", err)
		}
	})
}
