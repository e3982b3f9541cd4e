package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// ReadSecret reads a secret (a keystore password, a token) from a file or
// from an environment variable, never from the command line or the
// configuration itself. Exactly one of file and envVar may be set; a
// trailing newline in the file is dropped. A file that others may read,
// or its group unless allowGroup, is refused naming the file.
func ReadSecret(file, envVar string, allowGroup bool, getenv func(string) string) (string, error) {
	switch {
	case file != "" && envVar != "":
		return "", errors.New("give the secret either as a file or as an environment variable, not both")
	case file != "":
		b, err := certs.ReadSecretFile(file, allowGroup)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case envVar != "":
		v := getenv(envVar)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or not set", envVar)
		}
		return v, nil
	}
	return "", nil
}

// Resolve reads the secret s refers to under c's rule for secret files.
func (c *Config) Resolve(s SecretRef, getenv func(string) string) (string, error) {
	return ReadSecret(s.File, s.Env, c.AllowGroupReadableSecrets, getenv)
}
