package config

import (
	"fmt"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/routing"
)

// validateRoutes checks a mailbox's routing rules (gateway/routing holds
// the one rule of what is valid) and that their names are unique.
func (m *MailboxConfig) validateRoutes(p *problems, key string, intakes map[string]bool) {
	names := map[string]bool{routing.DefaultRule: true}
	for i, r := range m.Routes {
		rk := fmt.Sprintf("%s.routes[%d]", key, i)
		for _, pr := range r.Check(func(n string) bool { return intakes[n] }) {
			msg := strings.TrimPrefix(pr.Err.Error(), routing.ErrRule.Error()+": ")
			if pr.Field == "intake" && r.Intake != "" {
				msg += fmt.Sprintf(" (defined: %s)", strings.Join(sortedKeys(intakes), ", "))
			}
			p.add(rk+"."+pr.Field, "%s", msg)
		}
		if r.Name != "" {
			if names[r.Name] {
				p.add(rk+".name", "%q is used twice or is reserved", r.Name)
			}
			names[r.Name] = true
		}
	}
}
