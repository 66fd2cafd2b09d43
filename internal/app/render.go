package app

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// page is what every template gets: the language, the signed-in user and
// the CSRF token for its forms, plus the view of that page.
type page struct {
	Lang      string
	Languages []Language
	// Path is the page's own path (for the language links): opaque ids
	// only, never a name or identifier.
	Path  string
	Title string
	User  string
	Dev   bool
	CSRF  string
	// Steward shows the identity review in the header.
	Steward bool
	View    any
}

// T translates for the page's language.
func (p *page) T(key string, args ...any) string { return T(p.Lang, key, args...) }

// LangURL is the page's path in another language.
func (p *page) LangURL(tag string) string { return p.Path + "?lang=" + tag }

func (a *App) parseTemplates() error {
	a.tmpl = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(template.FuncMap{
			"inc":       func(i int) int { return i + 1 },
			"pairSides": func(p pairView) []Person { return []Person{p.A, p.B} },
		}).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("app: template %s: %w", base, err)
		}
		a.tmpl[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

// render writes a page; the template runs into a buffer first, so a
// failing template is an error page, never half a page.
func (a *App) render(c echo.Context, status int, name, title string, view any) error {
	p := &page{Lang: langOf(c), Languages: Languages, Path: c.Request().URL.Path, Title: title, Dev: a.cfg.Dev, View: view}
	if s := sessionOf(c); s != nil {
		p.User, p.CSRF = s.user.Name, s.csrf
		if p.User == "" {
			p.User = s.user.Subject
		}
		p.Steward = isSteward(c.Request().Context()) && a.identityOn()
	}
	if pre, ok := c.Get("preCSRF").(string); ok {
		p.CSRF = pre
	}
	t := a.tmpl[name]
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		a.log.Error("clinic page: template failed", "template", name, "error", err.Error())
		return c.String(http.StatusInternalServerError, "the page could not be rendered")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

type errorView struct {
	Heading, Message string
	SignIn           bool
}

func (a *App) renderError(c echo.Context, status int, heading, message string) error {
	return a.render(c, status, "error", heading, errorView{Heading: heading, Message: message, SignIn: status == http.StatusUnauthorized})
}
