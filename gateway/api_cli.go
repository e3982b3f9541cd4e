package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// TokenEnv is the environment variable the API commands read a token from.
const TokenEnv = "BEBPO_TOKEN"

// apiFlags are the options every command that talks to a running
// gateway shares: where the API is and how to authenticate.
type apiFlags struct {
	config    string
	api       string
	tokenFile string
	json      bool
	timeout   time.Duration
}

func addAPIFlags(fs *flag.FlagSet) *apiFlags {
	f := &apiFlags{}
	fs.StringVar(&f.config, "config", "", "gateway configuration file: the API address (api.listen) and the first token of api.tokens_file")
	fs.StringVar(&f.api, "api", "", "API base URL, e.g. http://127.0.0.1:8440 (instead of --config)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API token (default: $"+TokenEnv+", then the config's tokens file)")
	fs.BoolVar(&f.json, "json", false, "print JSON for machines instead of a table")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up after this long")
	return f
}

// errNoAPI is returned when neither --api nor --config says where the API is.
var errNoAPI = errors.New("give --config FILE or --api URL to say where the gateway's API is")

// client builds an API client from the flags, the environment and the
// configuration file.
func (f *apiFlags) client(env *Env) (*APIClient, error) {
	c := &APIClient{BaseURL: f.api}
	var cfg *Config
	if f.config != "" {
		var err error
		if cfg, err = LoadConfig(f.config); err != nil {
			return nil, err
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.BaseURL == "" {
		if cfg == nil {
			return nil, errNoAPI
		}
		scheme := "http"
		if cfg.API.TLSCert != "" {
			scheme = "https"
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pem, err := os.ReadFile(cfg.API.TLSCert)
			if err != nil {
				return nil, fmt.Errorf("api.tls_cert: %w", err)
			}
			pool.AppendCertsFromPEM(pem)
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		}
		c.BaseURL = scheme + "://" + dialAddress(cfg.API.Listen)
	}
	switch {
	case f.tokenFile != "":
		tok, err := firstToken(f.tokenFile)
		if err != nil {
			return nil, err
		}
		c.Token = tok
	case env.Getenv(TokenEnv) != "":
		c.Token = strings.TrimSpace(env.Getenv(TokenEnv))
	case cfg != nil && cfg.API.TokensFile != "":
		tok, err := firstToken(cfg.API.TokensFile)
		if err != nil {
			return nil, err
		}
		c.Token = tok
	default:
		return nil, errors.New("no API token: give --token-file FILE, set " + TokenEnv + ", or --config with api.tokens_file")
	}
	c.HTTP = &http.Client{Transport: tr, Timeout: f.timeout}
	return c, nil
}

// firstToken returns the first token of a tokens file (the format
// LoadTokens reads: "token" or "label:token" lines, # comments).
func firstToken(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexByte(line, ':'); i > 0 {
			line = line[i+1:]
		}
		return strings.TrimSpace(line), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	return "", fmt.Errorf("token file %s holds no token", path)
}

// apiCommand runs fn with a client and a context bounded by --timeout,
// and reports API errors the same way everywhere.
func apiCommand(env *Env, name string, f *apiFlags, fn func(ctx context.Context, c *APIClient) error) int {
	c, err := f.client(env)
	if err != nil {
		return Failf(env, name, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := fn(ctx, c); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Problem.Field != "" {
			return Failf(env, name, "%v (field %s)", err, ae.Problem.Field)
		}
		return Failf(env, name, "%v", err)
	}
	return ExitOK
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cliTime formats a time for tables.
func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func cliDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dialAddress turns a listen address into one to connect to: a server
// listening on all interfaces is reached on the loopback interface.
func dialAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// parseInterspersed is ParseFlags that also accepts options after
// arguments ("messages download 17 --dir akte"); everything after "--"
// is an argument.
func parseInterspersed(env *Env, fs *flag.FlagSet, args []string) (int, bool) {
	head, tail := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			head, tail = args[:i], args[i+1:]
			break
		}
	}
	if code, ok := ParseFlags(env, fs, head); !ok {
		return code, false
	}
	var pos []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return ExitUsage, false
		}
	}
	if err := fs.Parse(append([]string{"--"}, append(pos, tail...)...)); err != nil {
		return ExitUsage, false
	}
	return 0, true
}
