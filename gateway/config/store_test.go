package config

import (
	"errors"
	"testing"
)

func TestStoreConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       StoreConfig
		err        string
	}{
		{"default", "", StoreConfig{Kind: StoreSQLite}, ""},
		{"sqlite", "store: {kind: sqlite}", StoreConfig{Kind: StoreSQLite}, ""},
		{"postgres from a file", "store: {kind: postgres, dsn: {file: /etc/bebpo/dsn}, max_conns: 16}",
			StoreConfig{Kind: StorePostgres, DSN: SecretRef{File: "/etc/bebpo/dsn"}, MaxConns: 16}, ""},
		{"postgres from the environment", "store: {kind: postgres, dsn: {env: BEBPO_DSN}}",
			StoreConfig{Kind: StorePostgres, DSN: SecretRef{Env: "BEBPO_DSN"}}, ""},
		{"postgres without dsn", "store: {kind: postgres}", StoreConfig{}, "store.dsn: needs exactly one of file and env"},
		{"postgres with both", "store: {kind: postgres, dsn: {file: /f, env: E}}", StoreConfig{}, "store.dsn: needs exactly one"},
		{"too many connections", "store: {kind: postgres, dsn: {env: E}, max_conns: 5000}", StoreConfig{}, "store.max_conns: must be between 1 and 500"},
		{"dsn for sqlite", "store: {kind: sqlite, dsn: {env: E}}", StoreConfig{}, "store: dsn and max_conns are for kind postgres"},
		{"unknown kind", "store: {kind: mysql}", StoreConfig{}, `store.kind: must be sqlite or postgres, not "mysql"`},
		{"inline dsn", "store: {kind: postgres, dsn: 'host=db password=secret'}", StoreConfig{}, "store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c := withSection(t, tc.yaml, tc.err, "secret"); c != nil && c.Store != tc.want {
				t.Fatalf("store %+v, want %+v", c.Store, tc.want)
			}
		})
	}
	if !errors.Is(func() error { c := StoreConfig{Kind: "x"}; var p problems; c.validate(&p); return p.err() }(), ErrConfig) {
		t.Fatal("a store problem is not ErrConfig")
	}
}
