package gateway

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestLoggerNeverPrintsSecrets(t *testing.T) {
	const (
		pw      = "Passwort-4711-geheim"
		tok     = "tok_9f8e7d6c5b4a"
		subject = "Klage Mustermann wegen Bauantrag"
	)
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(LogConfig{Format: format, Level: "debug"}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			l := log.With(zap.String("password", pw), zap.String(LogKeyMailbox, "stadt"))
			l.Info("sending",
				zap.String("apiToken", tok),
				zap.Any("keystorePassword", Secret(pw)),
				zap.Stringer("pin", Secret(pw)),
				zap.Object("p12", Secret(pw)),
				zap.String("subject", subject),
				zap.String(LogKeyMessageID, "govapp_1"),
				zap.String("note", fmt.Sprint(Secret(tok))),
			)
			_ = l.Sync()
			out := buf.String()
			for _, s := range []string{pw, tok, subject} {
				if strings.Contains(out, s) {
					t.Errorf("log contains %q: %s", s, out)
				}
			}
			for _, s := range []string{"govapp_1", "stadt", redacted} {
				if !strings.Contains(out, s) {
					t.Errorf("log lacks %q: %s", s, out)
				}
			}
		})
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("x-secret")
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %#v", s, s, s), s.String()} {
		if strings.Contains(got, "x-secret") {
			t.Errorf("formatted secret leaks: %q", got)
		}
	}
	if s.Reveal() != "x-secret" {
		t.Error("Reveal lost the value")
	}
}
