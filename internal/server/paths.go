package server

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// trimTrailingSlash routes [base]/ as [base] and [base]/Patient/ as
// [base]/Patient, on every route and method, by rewriting the path before
// routing. FHIR clients build URLs by joining the base with a relative
// path, and some (fhir-kit-client) POST batch and transaction Bundles to
// "[base]/". A redirect would be wrong for a POST (clients may drop the body
// or switch to GET), so the request is served where it is. echo's
// RemoveTrailingSlash leaves RawPath alone, which the router prefers when
// the path has escapes; both are trimmed here.
func trimTrailingSlash(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if len(u.Path) > 1 && strings.HasSuffix(u.Path, "/") {
			u.Path = trimSlashes(u.Path)
			if u.RawPath != "" {
				u.RawPath = trimSlashes(u.RawPath)
			}
			c.Request().RequestURI = u.RequestURI()
		}
		return next(c)
	}
}

func trimSlashes(p string) string {
	t := strings.TrimRight(p, "/")
	if t == "" {
		return "/"
	}
	return t
}
