package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// asset is one embedded static file under its content-hashed name, so
// it can be cached for a year and a new release is fetched at once.
type asset struct {
	name, contentType string
	body              []byte
}

var assets, assetNames = func() (map[string]asset, map[string]string) {
	byHashed, names := map[string]asset{}, map[string]string{}
	ents, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[ext]
		byHashed[hashed] = asset{hashed, ct, b}
		names[e.Name()] = "/static/" + hashed
	}
	return byHashed, names
}()

// serveStatic answers an embedded asset by its hashed name.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok || a.contentType == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}

// pageNames are the templates of the pages; each is parsed with the
// layout once, at start.
var pageNames = []string{"login", "error", "list", "message", "send", "eeb", "quarantine", "register", "procedure", "ops", "extension"}

type templates struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"t":     mailbox.LocalTime,
	"asset": func(name string) string { return assetNames[name] },
	"state": stateLabel,
	"dir":   func(d string) string { return map[string]string{"in": "Eingang", "out": "Ausgang"}[d] },
	"size":  humanSize,
	"day":   func(t time.Time) string { return t.In(api.Berlin).Format("2006-01-02") },
	"role":  roleLabel,
	"join":  strings.Join,
	"event": eventText,
}

func parseTemplates() (*templates, error) {
	t := &templates{pages: map[string]*template.Template{}}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	for _, n := range pageNames {
		c, err := base.Clone()
		if err == nil {
			_, err = c.ParseFS(templateFS, "templates/"+n+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		t.pages[n] = c
	}
	return t, nil
}

// execute renders page name into a buffer first, so a failing template
// never leaves half a page.
func (t *templates) execute(w http.ResponseWriter, code int, name string, v view, log *zap.Logger) {
	var b bytes.Buffer
	p := t.pages[name]
	if p == nil {
		log.Error("web template missing", zap.String("template", name))
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	if err := p.ExecuteTemplate(&b, "layout.html", v); err != nil {
		log.Error("web template failed", zap.String("template", name), zap.Error(err))
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// stateLabel is a message state in German.
func stateLabel(s string) string {
	if l, ok := map[string]string{
		"queued": "In Warteschlange", "id_assigned": "Wird vorbereitet", "sending": "Wird gesendet", "sent": "Beim Intermediär",
		"confirmed": "Abgeholt (zugestellt)", "failed": "Fehlgeschlagen", "received": "Empfangen", "quarantined": "In Quarantäne",
		"intake_pending": "Wartet auf E-Akte", "delivered": "An E-Akte übergeben", "held": "Angehalten", "deleted": "Gelöscht",
	}[s]; ok {
		return l
	}
	return s
}

func roleLabel(r Role) string {
	return map[Role]string{RoleLegal: "Rechtsamt", RoleProcurement: "Vergabe", RoleRecords: "Registratur", RoleAdmin: "Betrieb"}[r]
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f MB", float64(n)/(1<<20)), ".", ",", 1)
	case n >= 1<<10:
		return strings.Replace(fmt.Sprintf("%.1f KB", float64(n)/(1<<10)), ".", ",", 1)
	}
	return fmt.Sprintf("%d Byte", n)
}
