package gateway

import (
	"fmt"

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
