package intermediary

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// FaultKind is what an injected fault does.
type FaultKind int

// Fault kinds.
const (
	FaultDelay          FaultKind = iota + 1 // wait Delay, then answer normally
	FaultStatus                              // answer with HTTP Status and no body (before or AfterExecute)
	FaultDropMidBody                         // execute, send part of the response, close the connection
	FaultTruncateXML                         // execute, send the response cut inside the SOAP envelope, close
	FaultWrongSignature                      // execute, answer with a broken SupplierSignature
	FaultWrongSequence                       // execute, answer with a wrong SequenceNumber
	FaultSOAP                                // answer with a SOAP fault with Code (before or AfterExecute)
	FaultFeedback                            // answer with a signed feedback Code, order not executed
)

// Fault is an injected failure for orders of one type.
type Fault struct {
	Type   osci.MessageType // the order type; TypeUnknown matches every order
	Nth    int              // only the Nth order of that type (from 1); 0 matches every one
	Kind   FaultKind
	Delay  time.Duration
	Status int
	Code   osci.Code
	// AfterExecute (FaultStatus, FaultSOAP): the order is executed before
	// the status or fault is sent. A SOAP fault after a store is what an
	// attacker on the path can forge: it is unsigned like every fault.
	AfterExecute bool
}

func (s *Server) fault(t osci.MessageType) *Fault {
	for i := range s.cfg.Faults {
		f := &s.cfg.Faults[i]
		if (f.Type == osci.TypeUnknown || f.Type == t) && (f.Nth == 0 || f.Nth == s.counts[t]) {
			return f
		}
	}
	return nil
}

// wait sleeps for an injected delay; false when the request was given up.
func (f *Fault) wait(ctx context.Context) bool {
	select {
	case <-time.After(f.Delay):
		return true
	case <-ctx.Done():
		return false
	}
}

// cutAt is where a cut response ends: inside the MIME headers' first part for
// truncated XML, after 2 KiB for a dropped connection.
func (f *Fault) cutAt() int {
	if f.Kind == FaultTruncateXML {
		return 400
	}
	return 2048
}

// hangUp closes the connection without finishing the response.
func hangUp(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if h, ok := w.(http.Hijacker); ok {
		if conn, _, err := h.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// corruptSignature flips one character of the SignatureValue.
func corruptSignature(env []byte) []byte {
	i := bytes.Index(env, []byte("<ds:SignatureValue>"))
	if i < 0 {
		return env
	}
	env = bytes.Clone(env)
	j := i + len("<ds:SignatureValue>") + 10
	if env[j] == 'A' {
		env[j] = 'B'
	} else {
		env[j] = 'A'
	}
	return env
}
