package xdomea

// SchemaCatalog is the catalog the loader resolves version's absolute
// schema locations with, for the xmllint cross-check.
func SchemaCatalog(version string) map[string]string {
	g, err := lookup(version)
	if err != nil {
		return nil
	}
	return g.catalog
}
