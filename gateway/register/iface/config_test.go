package iface_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/iface"
)

// The register.interface section is read with the configuration's own
// classes: a secret that cannot be resolved is a configuration error, a
// certificate that cannot be read a key material error, each naming its
// key; one New refuses (here: no certificate) a configuration error.
func TestFromConfig(t *testing.T) {
	cfg := &config.Config{}
	noEnv := func(string) string { return "" }
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		i    config.RegisterInterfaceConfig
		want error
		key  string
	}{
		{"password unresolved", config.RegisterInterfaceConfig{URL: "https://register.example",
			Certificate: config.KeystoreConfig{PKCS12: missing, Password: config.SecretRef{Env: "REGISTER_PW"}}}, config.ErrConfig, "register.interface.certificate.password"},
		{"tls_cas unreadable", config.RegisterInterfaceConfig{URL: "https://register.example", TLSCAs: []string{missing}}, config.ErrKeyMaterial, "register.interface.tls_cas[0]"},
		{"no certificate", config.RegisterInterfaceConfig{URL: "https://register.example"}, config.ErrConfig, "register.interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iface.FromConfig(cfg, &tc.i, noEnv)
			if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.key+":") {
				t.Errorf("err %v, want %v naming %s", err, tc.want, tc.key)
			}
		})
	}
}
