package config

// StoreConfig chooses the database of the mailbox store. The default is
// the embedded SQLite file in data_dir, for one gateway. PostgreSQL lets
// several gateways share one database (see mailbox/postgres); its schema
// is migrated by `bebpo-gateway migrate`, and a gateway refuses to start
// on a schema that is behind or ahead of it.
type StoreConfig struct {
	Kind string `yaml:"kind"` // "sqlite" (default) or "postgres"
	// DSN is the PostgreSQL connection string (libpq key=value or URL),
	// from a file or an environment variable: it may hold a password.
	DSN SecretRef `yaml:"dsn"`
	// MaxConns bounds the connections of this gateway; default 8.
	MaxConns int32 `yaml:"max_conns"`
}

// Store kinds.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// Shared says whether other gateways may work on the same store (kind
// postgres). A gateway on a shared store keeps no idle fetch dialog and
// fetches each mailbox in one dialog at a time, so that two gateways never
// hold dialogs of one mailbox side by side; one on its own store keeps
// idle dialogs and fetches a long listing in several.
func (s StoreConfig) Shared() bool { return s.Kind == StorePostgres }

// MaxStoreConns bounds store.max_conns: a PostgreSQL server allows 100
// connections by default, shared by every gateway.
const MaxStoreConns = 500

func (s *StoreConfig) validate(p *problems) {
	if s.Kind == "" {
		s.Kind = StoreSQLite
	}
	switch s.Kind {
	case StoreSQLite:
		if s.DSN != (SecretRef{}) || s.MaxConns != 0 {
			p.add("store", "dsn and max_conns are for kind postgres; sqlite keeps its file in data_dir")
		}
	case StorePostgres:
		if (s.DSN.File == "") == (s.DSN.Env == "") {
			p.add("store.dsn", "needs exactly one of file and env")
		}
		if s.MaxConns < 0 || s.MaxConns > MaxStoreConns {
			p.add("store.max_conns", "must be between 1 and %d (0: default 8), not %d", MaxStoreConns, s.MaxConns)
		}
	default:
		p.add("store.kind", "must be sqlite or postgres, not %q", s.Kind)
	}
}
