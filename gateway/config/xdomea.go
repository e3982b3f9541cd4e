package config

import (
	"slices"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xdomea"
)

// XDomeaConfig is an xdomea intake: Abgabe.Abgabe.0401 archives written
// to intakes[].path, import confirmations (0402) read from Confirmations.
type XDomeaConfig struct {
	// Version of xdomea written and read: "3.0.0" (default, the binding
	// version) or "4.0.0".
	Version string `yaml:"version"`
	// Recipient names the receiving authority in the message; default
	// the mailbox name.
	Recipient string `yaml:"recipient"`
	// Confirmations is the folder the records system writes its 0402
	// import confirmations to (default <path>/importbestaetigungen).
	Confirmations string `yaml:"confirmations"`
	// FormatCodes map file extensions (pdf, xml, ...) to codes of the
	// xdomea code list Dateiformat in version FormatListVersion; other
	// files get FormatOther. The records system's code list decides.
	FormatCodes       map[string]string `yaml:"format_codes"`
	FormatOther       string            `yaml:"format_code_other"`
	FormatListVersion string            `yaml:"format_list_version"`
}

func (in *IntakeConfig) validateXDomea(p *problems, key string) {
	if in.Path == "" {
		p.add(key+".path", "is required for an xdomea intake")
	}
	if in.URL != "" {
		p.add(key+".url", "is for http intakes only")
	}
	x := in.XDomea
	if x == nil {
		p.add(key+".xdomea", "is required for an xdomea intake (format_code_other and format_list_version)")
		return
	}
	if x.Version == "" {
		x.Version = xdomea.Version3
	}
	if !slices.Contains(xdomea.Versions(), x.Version) {
		p.add(key+".xdomea.version", "must be one of %v, not %q", xdomea.Versions(), x.Version)
	}
	if x.FormatOther == "" {
		p.add(key+".xdomea.format_code_other", "is required: the code of \"other format\" in the records system's Dateiformat code list")
	}
	if x.FormatListVersion == "" {
		p.add(key+".xdomea.format_list_version", "is required: the version of the Dateiformat code list the codes are from")
	}
}
