// Package web is the clerks' web application, in German: Posteingang and
// Postausgang per mailbox, Senden to a court, eEB-Aufgaben, Quarantäne,
// Wettbewerbsregister and Betrieb, rendered on the server with
// html/template (parsed at start) and a small embedded script.
//
// Guarantees: every page but the sign-in page and the static assets
// needs a session; every handler checks the user's role and mailbox
// scope before it reads anything, and a message, task or document of a
// mailbox outside the scope is answered 404, as if it did not exist;
// every POST carries the session's CSRF token or is refused 403 before
// anything is read; every answer carries a Content-Security-Policy that
// allows no inline script or style and no other origin (the
// Prüfprotokoll and the proof of filing, documents of their own, are
// served sandboxed without any script); a change to a message or an
// eEB task is made by the same store or service call the API makes,
// which journals it with the user ("user:NAME"); every POST and every
// document download is further journaled as a "web" entry (user, path,
// status): a download is refused when that entry cannot be written, a
// POST's failing entry is logged. Sign-in and sign-out are journaled
// ("web_login", "web_logout"), and a sign-in whose entry cannot be
// written fails. Sessions live in memory (a restart signs everyone
// out), end after SessionConfig.TTL or Idle, and are found by a cookie
// that is HttpOnly, SameSite=Strict and, over TLS, Secure with the
// __Host- prefix. Local users' passwords are kept as argon2id hashes in
// a file written durably (FileUsers).
package web
