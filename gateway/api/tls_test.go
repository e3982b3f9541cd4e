package api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// TestAPIClientCertificate authenticates with a TLS client certificate
// that chains to the configured client CA, without a bearer token.
func TestAPIClientCertificate(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	pool := x509.NewCertPool()
	for _, ca := range []string{"root-ca.pem", "intermediate-ca.pem"} {
		if !pool.AppendCertsFromPEM([]byte(apitest.PKIPEM(t, ca))) {
			t.Fatal("bad CA PEM")
		}
	}
	ts := httptest.NewUnstartedServer(e.Srv.Handler())
	ts.TLS = &tls.Config{ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	kp, err := tls.X509KeyPair([]byte(apitest.PKIPEM(t, "mailbox-signature.pem")), []byte(apitest.PKIPEM(t, "mailbox-signature.key")))
	if err != nil {
		t.Fatal(err)
	}
	withCert := ts.Client()
	tr := withCert.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{kp}
	withCert = &http.Client{Transport: tr}
	tests := []struct {
		name   string
		client *http.Client
		want   int
	}{
		{"client certificate", withCert, 200},
		{"neither certificate nor token", ts.Client(), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.Get(ts.URL + "/v1/addressbook")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	evs, _ := e.Store.Events(context.Background(), 0, 10)
	var d map[string]string
	json.Unmarshal([]byte(evs[0].Detail), &d)
	if !strings.HasPrefix(d["actor"], "cert:") || !strings.Contains(d["actor"], "Stadt Erkelenz beBPo Signatur") {
		t.Errorf("audit actor %q", d["actor"])
	}
}

func TestAPITLSConfig(t *testing.T) {
	root := apitest.RepoRoot(t) + "/testdata/pki/"
	// A checkout gives every file mode 0644: the key gets a private copy,
	// and the checked-out one stands for a key others can read.
	key, err := os.ReadFile(root + "mailbox-signature.key")
	if err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(t.TempDir(), "api.key")
	if err := os.WriteFile(private, key, 0o600); err != nil {
		t.Fatal(err)
	}
	readable := filepath.Join(t.TempDir(), "api.key")
	if err := os.WriteFile(readable, key, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     config.APIConfig
		wantNil bool
		wantErr string
	}{
		{"plain", config.APIConfig{}, true, ""},
		{"missing key", config.APIConfig{TLSCert: root + "none.pem", TLSKey: root + "none.key"}, false, "TLS key"},
		{"key readable by others", config.APIConfig{TLSCert: root + "mailbox-signature.pem", TLSKey: readable}, false, "readable by group or others"},
		{"client CA without certificates", config.APIConfig{TLSCert: root + "mailbox-signature.pem", TLSKey: private, ClientCA: root + "intermediate.crl"}, false, "no PEM certificate"},
		{"with client CA", config.APIConfig{TLSCert: root + "mailbox-signature.pem", TLSKey: private, ClientCA: root + "root-ca.pem"}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := api.TLSConfig(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || (c == nil) != tc.wantNil {
				t.Fatalf("config %v, err %v", c, err)
			}
			if c != nil && (c.ClientAuth != tls.VerifyClientCertIfGiven || c.MinVersion != tls.VersionTLS12) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestAPIHTTPServerLimits(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	hs := e.Srv.HTTPServer("127.0.0.1:0", nil)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 || hs.Handler == nil {
		t.Errorf("server without limits: %+v", hs)
	}
}
