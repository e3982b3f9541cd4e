// Package notifypage is the web application's notification settings page
// (Benachrichtigungen, Path): each signed-in user chooses, per kind of
// notification their roles may see (notify.KindRoles), e-mail and/or a
// webhook, and the webhook's URL and format. The daemon adds it to the
// web application as a web.Page whenever notifications are on.
//
// Guarantees: a user is offered, and can store, only the kinds their
// roles may see (any other kind posted is ignored); the webhook channel
// is offered only when webhook hosts are configured, and a webhook URL is
// stored only if it passes the check the sending applies
// (notify.Webhooks.CheckURL), so no setting is saved that the sending
// would refuse. The page inherits the web application's session, role
// and CSRF checks (web.Page). Every saved choice gets one log line with
// the user and the number of kinds, never the webhook's URL.
//
// How it fails: a refused choice (a webhook URL not allowed, too long or
// missing, an unknown format) is shown again with the German reason and
// nothing is stored; an error of the preferences store is returned to
// the web application, which answers with its error page.
package notifypage
