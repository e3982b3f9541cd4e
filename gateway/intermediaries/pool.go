package intermediaries

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"
)

// MaxIdlePerHost is how many idle connections to one intermediary the
// shared client keeps: enough for the send lanes and the fetch loops
// polling at once, where the standard library keeps two and closes the
// rest.
const MaxIdlePerHost = 32

// IdleConnTimeout is how long an idle connection is kept: longer than the
// default poll interval, so that idle mailboxes reuse their connections
// instead of handshaking for every poll.
const IdleConnTimeout = 5 * time.Minute

type pooledClient struct {
	roots  *x509.CertPool // nil: the system's
	client *http.Client
}

// HTTPClient returns the one HTTP client for the TLS roots (nil: the
// system's), so that every mailbox at an intermediary shares one pool of
// connections (http.Transport keeps its idle connections per host)
// instead of each holding, and handshaking, its own. The clients live as
// long as the registry, across reloads; other roots get a client of their
// own.
func (r *Registry) HTTPClient(roots *x509.CertPool) *http.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		if c.roots.Equal(roots) {
			return c.client
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxIdlePerHost
	tr.MaxIdleConns = 4 * MaxIdlePerHost
	tr.IdleConnTimeout = IdleConnTimeout
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	}
	c := &http.Client{Transport: tr}
	r.clients = append(r.clients, pooledClient{roots: roots, client: c})
	return c
}

// HTTPClient is the registry's shared client for the TLS roots: the one
// every mailbox of this generation, and of the ones before it, uses.
func (s *Set) HTTPClient(roots *x509.CertPool) *http.Client { return s.reg.HTTPClient(roots) }
