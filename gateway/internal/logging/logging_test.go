package logging

import (
	"bytes"
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
			log, err := New(Config{Format: format, Level: "debug"}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			l := log.With(zap.String("password", pw), zap.String(KeyMailbox, "stadt"))
			l.Info("sending",
				zap.String("apiToken", tok),
				zap.Any("keystorePassword", pw),
				zap.String("pin", pw),
				zap.String("subject", subject),
				zap.String(KeyMessageID, "govapp_1"),
				zap.String("authorization", "Bearer "+tok),
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
