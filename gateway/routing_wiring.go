package gateway

import (
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/routing"
)

// routesFor compiles a mailbox's routing rules against the intakes of the
// generation being built; mailboxes[].intake is the default.
func routesFor(key string, mc config.MailboxConfig, rt *runtimeConfig) (*routing.Table, error) {
	t, err := routing.Compile(mc.Routes, mc.Intake, func(n string) bool { _, ok := rt.intakes[n]; return ok })
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", config.ErrConfig, key, err)
	}
	return t, nil
}

// courtOf returns the court code the address book holds for a SAFE-ID,
// "" for anyone else.
func courtOf(book *addressbook.Book) func(string) string {
	return func(safeID string) string {
		if book == nil {
			return ""
		}
		r, err := book.Get(safeID)
		if err != nil {
			return ""
		}
		return r.CourtCode
	}
}
