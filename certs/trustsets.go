package certs

import (
	"crypto/x509"
)

// Use is what the gateway trusts a certificate for. Every use has a trust
// set of its own (TrustSets): a certificate trusted for one use proves
// nothing for another, even when its key usage would allow it (SAFE cipher
// certificates usually carry digitalSignature as well).
type Use int

const (
	// UseIntermediary is the intermediary's signature on its responses
	// (SupplierSignature). Only that intermediary's pinned signature
	// certificates are trusted; a path to a CA never suffices.
	UseIntermediary Use = iota + 1
	// UseVHN is the sender's transport signature as vertrauenswürdiger
	// Herkunftsnachweis: certificates issued by a beBPo VHN CA.
	UseVHN
	// UseContentSigner is a party's own signature: content signatures on
	// containers, and a transport signature that is not a VHN.
	UseContentSigner
	// UseRecipientCipher is a recipient's cipher certificate, to which
	// content is encrypted. Only pinned certificates are trusted (the
	// address book, as SAFE publishes them, often self-signed).
	UseRecipientCipher
	// UseTLS is a TLS server (intermediary, intake endpoint). crypto/tls
	// checks it against TrustSets.TLSRoots, server authentication usage
	// included; a Validator does not take this use.
	UseTLS
)

var useNames = []string{UseIntermediary: "intermediary", UseVHN: "vhn", UseContentSigner: "content-signer",
	UseRecipientCipher: "recipient-cipher", UseTLS: "tls"}

// String returns the use's name in reports and configuration.
func (u Use) String() string { return enumName(u, useNames, "use") }

// MarshalText writes the use's name.
func (u Use) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// Purpose is the key usage a certificate needs for u (0 for UseTLS, whose
// usage crypto/tls checks).
func (u Use) Purpose() Purpose {
	switch u {
	case UseIntermediary, UseVHN, UseContentSigner:
		return PurposeSignature
	case UseRecipientCipher:
		return PurposeCipher
	}
	return 0
}

// PinsOnly reports whether only pinned certificates are trusted for u,
// whatever CAs its set holds.
func (u Use) PinsOnly() bool { return u == UseIntermediary || u == UseRecipientCipher }

// TrustSets are the trust stores of one mailbox, one per use. Stores may
// be shared between mailboxes except Intermediary, which holds only the
// pins of that mailbox's intermediary. A nil store trusts nothing: no
// VHN set means no message gets the VHN mark.
type TrustSets struct {
	Intermediary    *TrustStore // pinned signature certificates of one intermediary
	VHN             *TrustStore // beBPo VHN CAs
	ContentSigner   *TrustStore // CAs (and pins) of parties' signature certificates
	RecipientCipher *TrustStore // pinned recipient cipher certificates (address book)
	TLS             *TrustStore // CAs and pinned certificates of TLS servers
}

// Validators are one mailbox's validators, one per use, each seeing only
// its own set.
type Validators struct {
	Intermediary    *Validator
	VHN             *Validator
	ContentSigner   *Validator
	RecipientCipher *Validator
}

// Validators returns a Validator per use (TLS aside: see TLSRoots), each
// with its own set and Use, sharing base's clock, policy and revocation
// checker. base.Trust and base.Use are ignored.
func (s TrustSets) Validators(base Validator) Validators {
	mk := func(u Use, ts *TrustStore) *Validator {
		v := base
		v.Trust, v.Use = ts, u
		return &v
	}
	return Validators{
		Intermediary:    mk(UseIntermediary, s.Intermediary),
		VHN:             mk(UseVHN, s.VHN),
		ContentSigner:   mk(UseContentSigner, s.ContentSigner),
		RecipientCipher: mk(UseRecipientCipher, s.RecipientCipher),
	}
}

// TLSRoots returns the TLS set as a pool for tls.Config.RootCAs: its roots
// and pinned server certificates. It returns nil when no TLS set is
// configured, which tells crypto/tls to use the system roots.
func (s TrustSets) TLSRoots() *x509.CertPool {
	if s.TLS == nil {
		return nil
	}
	return s.TLS.rootsAndPins()
}
