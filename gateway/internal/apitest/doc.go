// Package apitest runs the admin API on a real SQLite store, blob store
// and address book for the tests of the packages that talk to it (api,
// cli, outfolder, submit, addressbook), and parks the reference library's
// messages for those that read them again (osciendpoint). It is test
// support: nothing in it is used in production, and it fails a test
// rather than returning errors.
package apitest
