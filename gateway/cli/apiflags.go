package cli

import (
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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
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
func (f *apiFlags) client(env *Env) (*api.Client, error) {
	c := &api.Client{BaseURL: f.api}
	var cfg *config.Config
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
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
		tok, err := api.FirstToken(f.tokenFile, false)
		if err != nil {
			return nil, err
		}
		c.Token = tok
	case env.Getenv(TokenEnv) != "":
		c.Token = strings.TrimSpace(env.Getenv(TokenEnv))
	case cfg != nil && cfg.API.TokensFile != "":
		tok, err := api.FirstToken(cfg.API.TokensFile, cfg.AllowGroupReadableSecrets)
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

// apiCommand runs fn with a client and a context bounded by --timeout.
func apiCommand(env *Env, f *apiFlags, fn func(ctx context.Context, c *api.Client) error) error {
	c, err := f.client(env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return explainAPIError(fn(ctx, c))
}

// explainAPIError adds the field a problem+json answer names.
func explainAPIError(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) && ae.Problem.Field != "" {
		return fmt.Errorf("%w (field %s)", err, ae.Problem.Field)
	}
	return err
}

// answer ends every command that talks to a gateway or a data directory:
// err if the call failed, else v as JSON with --json, else v as human
// writes it for people.
func answer[T any](env *Env, f *apiFlags, v T, err error, human func(w io.Writer, v T) error) error {
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(env.Stdout, v)
	}
	return human(env.Stdout, v)
}

// newTable returns the writer every table goes through: columns separated
// by tabs, aligned with two spaces; header is its first row ("" for none).
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != "" {
		fmt.Fprintln(tw, header)
	}
	return tw
}

// fieldTable shows a record as a table of its fields: row writes one.
func fieldTable(w io.Writer) (tw *tabwriter.Writer, row func(k, v string)) {
	tw = newTable(w, "")
	return tw, func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
}

// argID parses fs's first argument as the positive id of what ("task
// id", "message ID").
func argID(fs *flag.FlagSet, what string) (int64, error) {
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf(fs, "%q is not a %s", fs.Arg(0), what)
	}
	return id, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cliTime formats a time for tables: RFC 3339 in German local time with
// its offset (the times clerks and court deadlines go by), "-" for none.
func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(api.Berlin).Format(time.RFC3339)
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
