package iface

import (
	"crypto/x509"
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// FromConfig is the client the register.interface section i of cfg
// describes: its URL, the authority's certificate (the PKCS#12 file and
// its password, a secret resolved with getenv) and the roots that verify
// the register's server (default: the system roots). A secret that cannot
// be resolved or a URL New refuses is config.ErrConfig, a certificate
// that cannot be read config.ErrKeyMaterial, each naming its key.
func FromConfig(cfg *config.Config, i *config.RegisterInterfaceConfig, getenv func(string) string) (*Client, error) {
	c := Config{BaseURL: i.URL, AllowHTTP: true} // config allows plain http only to this host
	if i.Certificate.PKCS12 != "" {
		pw, err := cfg.Resolve(i.Certificate.Password, getenv)
		if err != nil {
			return nil, fmt.Errorf("%w: register.interface.certificate.password: %w", config.ErrConfig, err)
		}
		if c.Identity, err = certs.LoadPKCS12(i.Certificate.PKCS12, pw); err != nil {
			return nil, fmt.Errorf("%w: register.interface.certificate: %w", config.ErrKeyMaterial, err)
		}
	}
	if len(i.TLSCAs) > 0 {
		c.Roots = x509.NewCertPool()
		for n, p := range i.TLSCAs {
			cs, err := certs.LoadCertificates(p)
			if err != nil {
				return nil, fmt.Errorf("%w: register.interface.tls_cas[%d]: %w", config.ErrKeyMaterial, n, err)
			}
			for _, ca := range cs {
				c.Roots.AddCert(ca)
			}
		}
	}
	a, err := New(c)
	if err != nil {
		return nil, fmt.Errorf("%w: register.interface: %w", config.ErrConfig, err)
	}
	return a, nil
}
