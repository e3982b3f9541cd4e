// Package logging builds the gateway's one logger and names its stable
// keys. Guarantee: whatever a caller logs, a field whose key names a
// credential or personal data (password, token, subject, name, case
// number, ...) is written as [REDACTED], through With and per call alike;
// the logger is never sampled, so no business event is dropped. It fails
// only at construction, for an unknown format or level.
package logging

import (
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Stable log keys. Every component uses these names so that operators can
// filter on them; nothing else identifies a message in the logs.
const (
	KeyMailbox      = "mailbox"
	KeyMessageID    = "messageId"
	KeyOSCIID       = "osciMessageId"
	KeyState        = "state"
	KeyCode         = "code"
	KeyReason       = "reason"
	KeyDurationMs   = "durationMs"
	KeyIntermediary = "intermediary"
)

// Config selects the log format and level.
type Config struct {
	Format string `yaml:"format"` // json (default) or console
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

const redacted = "[REDACTED]"

// redactedKeys are field names whose values are dropped whatever their
// type: credentials, and personal data that has no place in a log.
var redactedKeys = []string{
	"password", "passwd", "pin", "token", "secret", "authorization", "cookie",
	"key", "privatekey", "body", "content", "document", "subject", "betreff",
	"name", "email", "address", "aktenzeichen", "casenumber",
}

// isRedactedKey matches a key equal to or ending in a sensitive word
// ("password", "apiToken", "keystorePassword"), case-insensitively. It is
// deliberately broad: a redacted harmless field costs little.
func isRedactedKey(k string) bool {
	lk := strings.ToLower(k)
	for _, r := range redactedKeys {
		if strings.HasSuffix(lk, r) {
			return true
		}
	}
	return false
}

// redactFields returns fs with every sensitive field's value replaced.
func redactFields(fs []zapcore.Field) []zapcore.Field {
	out := fs
	copied := false
	for i, f := range fs {
		if isRedactedKey(f.Key) {
			if !copied {
				out = append([]zapcore.Field(nil), fs...)
				copied = true
			}
			out[i] = zap.String(f.Key, redacted)
		}
	}
	return out
}

// redactingCore wraps a zapcore.Core and scrubs sensitive fields both in
// With (context) and in Write (per call), so neither path leaks.
type redactingCore struct{ zapcore.Core }

func (c redactingCore) With(fs []zapcore.Field) zapcore.Core {
	return redactingCore{c.Core.With(redactFields(fs))}
}

func (c redactingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c redactingCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	return c.Core.Write(e, redactFields(fs))
}

// New builds the daemon's logger: JSON (production) or console
// (a terminal), never sampled (audit events must not be dropped), with the
// redacting core in front.
func New(cfg Config, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.Level, err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch cfg.Format {
	case "json", "":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log format %q: must be json or console", cfg.Format)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), lvl)
	return zap.New(redactingCore{core}, zap.ErrorOutput(zapcore.AddSync(w))), nil
}
