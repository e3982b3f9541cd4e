package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xdomea"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// buildXDomeaIntake opens an xdomea intake folder (intakes[].type xdomea).
func buildXDomeaIntake(key string, in config.IntakeConfig, d buildDeps) (mailbox.Intake, error) {
	x := in.XDomea
	if x == nil {
		return nil, fmt.Errorf("%w: %s.xdomea: is required", config.ErrConfig, key)
	}
	sink, err := xdomea.NewIntake(in.Name, in.Path, xdomea.Options{Version: x.Version, Recipient: x.Recipient,
		FormatCodes: x.FormatCodes, FormatOther: x.FormatOther, FormatListVersion: x.FormatListVersion}, d.now)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", config.ErrConfig, key, err)
	}
	return sink, nil
}

// xdomeaConfirmationInterval is how often the confirmation folders of
// the xdomea intakes are read.
const xdomeaConfirmationInterval = 30 * time.Second

// xdomeaConfirmationsRound reads the import confirmations (0402) of every
// xdomea intake of the current generation and journals them
// (gateway/xdomea.Confirmations). The folder is
// intakes[].xdomea.confirmations, default <path>/importbestaetigungen.
func (d *Daemon) xdomeaConfirmationsRound(ctx context.Context) (bool, error) {
	rt := d.current()
	var errs []error
	for name, sink := range rt.intakes {
		x, ok := sink.(*xdomea.Intake)
		if !ok {
			continue
		}
		in := rt.intakeCfg[name]
		dir := filepath.Join(in.Path, "importbestaetigungen")
		if in.XDomea != nil && in.XDomea.Confirmations != "" {
			dir = in.XDomea.Confirmations
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			errs = append(errs, fmt.Errorf("gateway: xdomea intake %s: %w", name, err))
			continue
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("gateway: xdomea intake %s: %w", name, err))
			continue
		}
		c := &xdomea.Confirmations{Intake: x, Dir: root, Store: d.store, Logger: d.log, Now: d.opt.Now}
		_, err = c.RunOnce(ctx)
		root.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("gateway: xdomea intake %s: %w", name, err))
		}
	}
	return false, errors.Join(errs...)
}
