package web

import "net/http"

// Who may use which page (issue: legal sends and answers eEB, records
// reads the inbox and the quarantine, procurement the register, admin
// runs the gateway). Mailbox pages further need the mailbox in scope.
var (
	mailRead   = anyOf(RoleLegal, RoleRecords)
	legal      = anyOf(RoleLegal)
	records    = anyOf(RoleRecords)
	procure    = anyOf(RoleProcurement)
	admin      = anyOf(RoleAdmin)
	signedIn   = access{}
	uploadForm = access{roles: []Role{RoleLegal}, multipart: true}
)

func (a *App) routes() {
	a.mux.HandleFunc("GET /static/{name}", serveStatic)
	a.mux.HandleFunc("GET /anmeldung", a.loginForm)
	a.mux.HandleFunc("POST /anmeldung", a.login)
	for _, m := range a.c.LoginMethods {
		prefix := "/anmeldung/" + m.ID()
		a.mux.Handle(prefix+"/", http.StripPrefix(prefix, m.Handler(a.sessions)))
	}
	a.page("POST /abmeldung", signedIn, a.logout)
	a.page("GET /{$}", signedIn, a.home)

	a.page("GET /postfach/{mailbox}/eingang", mailRead, a.list("in"))
	a.page("GET /postfach/{mailbox}/ausgang", mailRead, a.list("out"))
	a.page("GET /nachricht/{id}", mailRead, a.messagePage)
	a.page("GET /nachricht/{id}/zustand", mailRead, a.messageState)
	a.page("GET /nachricht/{id}/dokument/{n}", mailRead, a.document)
	a.page("GET /nachricht/{id}/pruefprotokoll", mailRead, a.report)
	a.page("GET /nachricht/{id}/nachweis", mailRead, a.evidence)
	a.page("POST /nachricht/{id}/freigeben", records, a.operate("release"))
	a.page("POST /nachricht/{id}/zurueckweisen", records, a.operate("reject"))

	a.page("GET /senden", legal, a.sendForm)
	a.page("POST /senden", uploadForm, a.send)

	a.page("GET /eeb", legal, a.eebTasks)
	a.page("POST /eeb/{task}/bestaetigen", legal, a.eebAnswer(true))
	a.page("POST /eeb/{task}/ablehnen", legal, a.eebAnswer(false))

	a.page("GET /quarantaene", records, a.quarantine)

	a.page("GET /register", procure, a.procedures)
	a.page("GET /register/{number}", procure, a.procedure)
	a.page("POST /register/{number}/bewertung", procure, a.assess)
	a.page("POST /register/{number}/pruefung", procure, a.gate)
	a.page("POST /register/{number}/abfrage", procure, a.query)

	a.page("GET /betrieb", admin, a.ops)
	a.page("POST /betrieb/adressbuch", access{roles: []Role{RoleAdmin}, multipart: true}, a.importBook)

	for _, p := range a.c.Pages {
		acc := signedIn
		if p.Role != "" {
			acc = anyOf(p.Role)
		}
		a.page(p.Path, acc, a.extension(p))
	}
}

// extension serves a Page of another package in the layout.
func (a *App) extension(p Page) handler {
	return func(w http.ResponseWriter, r *http.Request, u User) error {
		body, err := p.Serve(w, r, u)
		if err != nil || body == "" {
			return err
		}
		a.render(w, r, u, http.StatusOK, "extension", p.Title, bodyData{body})
		return nil
	}
}
