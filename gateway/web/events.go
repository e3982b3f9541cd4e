package web

import (
	"encoding/json"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
)

// eventText says in German what a journal entry of a message records,
// with who did it when a person or token did: so colleagues with the
// mailbox in scope see who handled a message.
func eventText(e api.EventView) string {
	var d map[string]string
	_ = json.Unmarshal(e.Detail, &d)
	var b strings.Builder
	switch e.Kind {
	case "state":
		b.WriteString("Zustand: " + stateLabel(d["to"]))
	case "deferred":
		b.WriteString("Neuer Versuch geplant")
	case "operator":
		b.WriteString(map[string]string{"hold": "Angehalten", "release": "Fortgesetzt", "requeue": "Erneut eingereiht",
			"delete": "Gelöscht"}[d["op"]] + " → " + stateLabel(d["to"]))
	case "received":
		b.WriteString("Empfangen")
	case "enqueued":
		b.WriteString("Zum Versand angenommen")
	case "process_card":
		b.WriteString("Laufzettel aktualisiert")
	case "purged":
		b.WriteString("Dokumentinhalte nach Ablauf der Aufbewahrungsfrist gelöscht")
	case "web":
		b.WriteString("Bearbeitet in der Web-Anwendung")
	case "api":
		b.WriteString("Zugriff über die Schnittstelle")
	default:
		b.WriteString(e.Kind)
	}
	if a := d["actor"]; a != "" {
		b.WriteString(" – von " + strings.TrimPrefix(a, "user:"))
	}
	if r := d["reason"]; r != "" {
		b.WriteString(" – Grund: " + r)
	}
	return b.String()
}
