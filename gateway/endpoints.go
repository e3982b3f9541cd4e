package gateway

import (
	"context"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/osciendpoint"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// endpointParams is what one mailbox's OSCI endpoint is built from.
type endpointParams struct {
	cfg      config.MailboxConfig
	identity *certs.Identity
	own      *intermediaries.Intermediary // the mailbox's intermediary
	rt       *runtimeConfig
	sets     certs.TrustSets // the mailbox's trust sets, its intermediary's pins included
	deps     buildDeps
	spoolDir string
}

// newEndpoint builds the OSCI side of a mailbox. Recipients come from the
// address book as it is at send time; their cipher certificates are pinned
// in this generation's recipient cipher set as they are looked up (the
// address book validated them when they were added), and nowhere else.
func newEndpoint(_ context.Context, p endpointParams) (mailboxEndpoint, error) {
	book, recipientKeys := p.deps.book, p.sets.RecipientCipher
	recipients := func(_ context.Context, safeID string) (addressbook.Recipient, error) {
		r, err := book.Get(safeID)
		if err != nil {
			return addressbook.Recipient{}, err
		}
		if c, err := r.Certificate(); err == nil {
			recipientKeys.Pin(c)
		}
		return r, nil
	}
	client := p.deps.client
	if client == nil {
		client = p.rt.inters.HTTPClient(p.sets.TLSRoots())
	}
	c := p.cfg.Card
	card := egvp.BusinessCard{Organisation: c.Organisation, OrganisationSuffix: c.OrganisationSuffix, Name: c.Name,
		Street: c.Street, HouseNumber: c.HouseNumber, PostalCode: c.PostalCode, City: c.City, State: c.State,
		Country: c.Country, Email: c.Email, Phone: c.Phone, UserID: p.cfg.SafeID}
	return osciendpoint.New(osciendpoint.Config{
		Name: p.cfg.Name, SafeID: p.cfg.SafeID, Identity: p.identity,
		IntermediaryURL: p.own.URL, IntermediaryCipher: p.own.Cipher, IntermediaryName: p.own.Name, Health: p.own.Health,
		Intermediaries: p.rt.inters, AllowInsecureHTTP: p.own.AllowInsecureHTTP, SignatureAlgorithm: p.cfg.SignatureAlgorithm,
		RequireEndToEnd: p.cfg.RequireEndToEnd, QuarantineInvalidDocumentSignatures: p.cfg.QuarantineInvalidDocumentSignatures,
		XML:   p.cfg.XMLLimits.Limits(),
		Trust: p.sets.Validators(p.rt.base), Recipients: recipients, Card: card, SpoolDir: p.spoolDir,
		Now: p.deps.now, Rand: p.deps.rand, Logger: p.deps.logger.Named("osci"),
		HTTPClient: client,
		// One gateway on its own store is the mailbox's only fetcher; gateways
		// sharing PostgreSQL end every dialog (one open per mailbox at a time).
		KeepIdleDialogs: !p.rt.cfg.Store.Shared(),
	})
}
