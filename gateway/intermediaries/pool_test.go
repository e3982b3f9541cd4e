package intermediaries_test

import (
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
)

// TestHTTPClientSharedPerRoots: mailboxes with the same TLS roots (or the
// system's) get one client and so one connection pool, which keeps more
// idle connections per intermediary than the standard library's two;
// other roots get their own.
func TestHTTPClientSharedPerRoots(t *testing.T) {
	r := intermediaries.NewRegistry(nil, nil)
	pool := func(name string) *x509.CertPool {
		cp := x509.NewCertPool()
		cp.AddCert(certstest.PKICert(t, name))
		return cp
	}
	a, b := r.HTTPClient(pool("root-ca")), r.HTTPClient(pool("root-ca"))
	if a != b {
		t.Error("equal roots, two clients")
	}
	sys := r.HTTPClient(nil)
	if sys == a || r.HTTPClient(nil) != sys {
		t.Error("the system roots do not have one client of their own")
	}
	if other := r.HTTPClient(pool("intermediate-ca")); other == a {
		t.Error("other roots share the client of root-ca")
	}
	tr := a.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost != intermediaries.MaxIdlePerHost || tr.TLSClientConfig == nil || tr.TLSClientConfig.RootCAs == nil {
		t.Errorf("transport: %d idle per host, TLS %+v", tr.MaxIdleConnsPerHost, tr.TLSClientConfig)
	}
}
