package web

import "net/url"

// urlSegment escapes s as one path segment.
func urlSegment(s string) string { return url.PathEscape(s) }
