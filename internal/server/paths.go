package server

import (
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
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

// misroutedOperation answers a $operation called with a method it does not
// take (GET Patient/$match, DELETE Patient/$identity-link, GET
// $import-health-card) or one that does not exist (Patient/$bogus). Without
// it the router serves such a path as the read or update of a resource
// whose id or type is "$match", and the client is told that "$match" is an
// invalid id.
func (s *Server) misroutedOperation(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var op string
		for _, v := range c.ParamValues() {
			if strings.HasPrefix(v, "$") {
				op = v
			}
		}
		// The clinic page (/app/patient/:id) answers its own paths in HTML.
		if op == "" || c.Request().Method == http.MethodOptions || !strings.HasPrefix(c.Path(), "/fhir/") {
			return next(c)
		}
		path := c.Request().URL.Path
		var allowed []string
		for key := range s.reg.routes {
			method, pattern, _ := strings.Cut(key, " ")
			if method != c.Request().Method && routeMatches(pattern, path) {
				allowed = append(allowed, method)
			}
		}
		if len(allowed) == 0 {
			return outcome.NotFound("%s is not an operation served at %s; see %s/metadata for the operations served", op, path, s.baseURL(c))
		}
		sort.Strings(allowed)
		c.Response().Header().Set(echo.HeaderAllow, strings.Join(allowed, ", "))
		return outcome.NotSupported(http.StatusMethodNotAllowed, "%s is invoked with %s, not %s", op, strings.Join(allowed, " or "), c.Request().Method)
	}
}

// routeMatches reports whether an echo route pattern (":name" segments)
// matches path, its "$operation" segments literally (a route of
// /:type/:id does not serve Patient/$match).
func routeMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		param := strings.HasPrefix(p, ":") && xs[i] != "" && !strings.HasPrefix(xs[i], "$")
		if !param && p != xs[i] {
			return false
		}
	}
	return true
}
