package oidclogin

import (
	"html/template"
	"net/http"
)

// refusedPage is the page of a refused log-in: the reason in German and
// the way back to the log-in page; no script, no style of its own.
var refusedPage = template.Must(template.New("refused").Parse(`<!DOCTYPE html>
<html lang="de">
<head><meta charset="utf-8"><title>Anmeldung nicht möglich</title></head>
<body>
<main>
<h1>Anmeldung nicht möglich</h1>
<p role="alert">{{.}}</p>
<p><a href="/anmeldung">Zurück zur Anmeldung</a></p>
</main>
</body>
</html>
`))

// refuse answers a refused log-in with its German message.
func (m *Method) refuse(w http.ResponseWriter, err error) {
	status, text := Message(err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = refusedPage.Execute(w, text)
}
