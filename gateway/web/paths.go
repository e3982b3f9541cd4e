package web

import (
	"net/url"
	"strconv"
)

// urlSegment escapes s as one path segment.
func urlSegment(s string) string { return url.PathEscape(s) }

func itoa(n int) string { return strconv.Itoa(n) }
