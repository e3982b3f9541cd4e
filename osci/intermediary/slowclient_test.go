package intermediary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// bodyProbe tells when a request body is first read and counts its octets.
type bodyProbe struct {
	io.ReadCloser
	once    sync.Once
	reading chan struct{}
	n       *atomic.Int64
}

func (p *bodyProbe) Read(b []byte) (int, error) {
	p.once.Do(func() { close(p.reading) })
	n, err := p.ReadCloser.Read(b)
	p.n.Add(int64(n))
	return n, err
}

// probed serves sim and gives every request body marked X-Probe a probe.
func probed(t *testing.T, sim *Server) (srv *httptest.Server, reading chan struct{}, read *atomic.Int64) {
	reading, read = make(chan struct{}), &atomic.Int64{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "" {
			r.Body = &bodyProbe{ReadCloser: r.Body, reading: reading, n: read}
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, reading, read
}

// TestSlowBodyStallsNoOtherClient: a client sends the start of an order and
// then holds its body open. Another client's getMessageId completes while
// the first body is still being read: the simulator does not hold its lock
// while it reads a request.
func TestSlowBodyStallsNoOtherClient(t *testing.T) {
	sim, _ := newSimulator(t)
	srv, reading, _ := probed(t, sim)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /osci HTTP/1.1\r\nHost: simulator\r\nX-Probe: 1\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: Multipart/Related; boundary=B; type=text/xml\r\n\r\n--B\r\n")
	select {
	case <-reading:
	case <-time.After(30 * time.Second):
		t.Fatal("the simulator never started reading the slow body")
	}
	// Far above the normal time (well under a second): only a simulator
	// that waits for the slow body runs into it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := newClient(t, srv.URL, "alice").GetMessageID(ctx); err != nil {
		t.Fatalf("getMessageId while another body is being read: %v", err)
	}
	conn.Close() // the slow order ends unanswered
}

// TestOversizedBodyIsNotReadToTheEnd: the body is read only up to the MIME
// limit; what lies beyond is neither read nor waited for.
func TestOversizedBodyIsNotReadToTheEnd(t *testing.T) {
	sim, err := New(Config{Cipher: keyPair(t, "osci_manager_cipher_4096"), Signature: keyPair(t, "osci_manager_signature_4096"),
		DataDir: t.TempDir(), Now: newClock().Now, Rand: certstest.DetRand("simulator"), MIME: osci.MIMELimits{MaxTotalBytes: 64 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, read := probed(t, sim)
	body := io.MultiReader(strings.NewReader("MIME-Version: 1.0\r\nContent-Type: Multipart/Related; boundary=B; type=text/xml\r\n\r\n"+
		"--B\r\nContent-ID: <osci@message>\r\n\r\n<soap:Envelope>"), bytes.NewReader(make([]byte, 8<<20)))
	req, err := http.NewRequest(http.MethodPost, srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Probe", "1")
	resp, err := srv.Client().Do(req)
	if err == nil {
		defer resp.Body.Close()
		in, rerr := osci.ReadMessage(resp.Body, osci.ReadOptions{})
		var fe *osci.FaultError
		if rerr == nil || in.Message.Type != osci.TypeFault || !errors.As(rerr, &fe) {
			t.Fatalf("answer %+v: %v", in, rerr)
		}
	}
	if n := read.Load(); n > sim.maxBody() {
		t.Fatalf("read %d octets of the body, limit %d", n, sim.maxBody())
	}
}
