package field

import (
	"errors"
	"strings"
	"testing"
)

var errSome = errors.New("gateway: some refusal")

func TestErrorMatchesSentinelAndCause(t *testing.T) {
	cause := errors.New("certs: expired")
	e := Errorf(errSome, "cipherCert", "%v", cause)
	e.Cause = cause
	err := Prefix("entries[2].", e)
	var fe *Error
	if !errors.As(err, &fe) || fe.Field != "entries[2].cipherCert" {
		t.Fatalf("Prefix: %v", err)
	}
	if !errors.Is(err, errSome) || !errors.Is(err, cause) || errors.Is(err, ErrInvalid) {
		t.Errorf("sentinels: %v", err)
	}
	if got := Errorf(nil, "x", "bad").Err; got != ErrInvalid {
		t.Errorf("default sentinel %v", got)
	}
	if err := Rename(e, map[string]string{"cipherCert": "recipientCert"}); !strings.Contains(err.Error(), ": recipientCert: ") {
		t.Errorf("Rename: %v", err)
	}
	plain := errors.New("other")
	if Prefix("a.", plain) != plain || Rename(plain, nil) != plain {
		t.Error("other errors must pass unchanged")
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		s        string
		max      int
		required bool
		want     string // "" = ok, else part of the reason
	}{
		{"Klage", 10, true, ""},
		{"", 10, false, ""},
		{"", 10, true, "is required"},
		{"\xff", 10, false, "UTF-8"},
		{"Übermäßig lang", 5, false, "longer than 5"},
		{"Zeile\nZwei", 50, false, "control characters"},
		{"äöü", 3, true, ""},
	} {
		err := Text("subject", c.s, c.max, c.required)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Text(%q) = %v", c.s, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid)):
			t.Errorf("Text(%q) = %v, want %q", c.s, err, c.want)
		}
	}
}
