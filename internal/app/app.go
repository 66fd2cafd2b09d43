// Package app is the clinic page at /app: server-rendered HTML for border
// clinic staff to find a migrant, read the whole record in English, Khmer
// or Thai, open confidential results in an emergency (break-the-glass),
// download the record in a source format, and for auditors see who read
// it. Every piece of data comes from the REST interactions of package rest
// with the signed-in user as principal, so the page is held to the same
// scopes, security labels and audit as any API client. It never touches
// the store, except for its own sessions.
package app

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the page needs.
type Config struct {
	// Service runs the interactions (the same as the REST API's).
	Service *rest.Service
	// Sessions stores the browser sessions (the database).
	Sessions store.Sessions
	// Mappings configure the source-format downloads ($export-source).
	Mappings ingest.Options
	// BaseURL is the FHIR base for links in what the interactions return;
	// "" derives it from the request.
	BaseURL string
	// Dev offers the development sign-in (serve --dev).
	Dev bool
	// OAuth is the SMART standalone sign-in; nil offers none.
	OAuth *OAuth
	// IdleTimeout ends a session not used for this long (default 30 min).
	IdleTimeout time.Duration
	// MaxSession is the longest a sign-in lasts (default 12 h).
	MaxSession time.Duration
	// SecureCookies marks cookies Secure even on plain http (a TLS proxy
	// that sends no X-Forwarded-Proto).
	SecureCookies bool
	// Location is the zone of times shown (default UTC+7, both sides of
	// the border).
	Location *time.Location
	// Documents are the document views that exist (the vaccination card,
	// the IPS summary); nil entries are not offered.
	Documents Documents
	Log       *slog.Logger
}

// App serves the page.
type App struct {
	cfg      Config
	svc      *rest.Service
	sessions store.Sessions
	tmpl     map[string]*template.Template
	static   http.Handler
	now      func() time.Time
	log      *slog.Logger
	// links is the identity service when it is served (features.go).
	links linker
	// cardFromService is set when the card comes from rest.Service, whose
	// HealthCardsEnabled then says whether it is on.
	cardFromService bool
}

// New prepares the page.
func New(cfg Config) (*App, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxSession <= 0 {
		cfg.MaxSession = 12 * time.Hour
	}
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("UTC+7", 7*3600)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Service == nil || cfg.Sessions == nil {
		return nil, errors.New("app: a service and a session store are required")
	}
	a := &App{cfg: cfg, svc: cfg.Service, sessions: cfg.Sessions, now: time.Now, log: cfg.Log}
	a.detectFeatures()
	if err := a.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	a.static = http.StripPrefix("/app/static/", http.FileServer(http.FS(sub)))
	return a, nil
}

// SetClock replaces the clock (tests of the idle timeout and expiry).
func (a *App) SetClock(now func() time.Time) { a.now = now }

// Routes registers the page's routes on e with the server's middleware
// (request id, access log and audit come from e.Use).
func (a *App) Routes(e *echo.Echo) {
	h := func(method, path string, fn echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
		e.Add(method, path, fn, append([]echo.MiddlewareFunc{a.headers, a.language}, mw...)...)
	}
	e.GET("/app/static/*", a.serveStatic, a.headers)
	h("GET", "/app", a.home)
	h("GET", "/app/", a.home)
	h("GET", "/app/signin", a.signinPage)
	h("POST", "/app/signin/dev", a.devSignin, a.devOnly, a.preCSRF)
	h("POST", "/app/signin/smart", a.smartStart, a.preCSRF)
	h("GET", "/app/callback", a.smartCallback)
	signed := []echo.MiddlewareFunc{a.requireSession, a.checkCSRF}
	h("POST", "/app/signout", a.signout, signed...)
	h("GET", "/app/search", a.searchPage, signed...)
	h("POST", "/app/search", a.search, signed...)
	h("GET", "/app/patient/:id", a.person, signed...)
	h("POST", "/app/patient/:id/break-glass", a.breakGlass, signed...)
	h("GET", "/app/patient/:id/access-log", a.accessLog, signed...)
	h("GET", "/app/patient/:id/export", a.export, signed...)
	h("GET", "/app/patient/:id/card", a.card, signed...)
	h("GET", "/app/patient/:id/summary", a.summary, signed...)
	h("GET", "/app/review", a.review, signed...)
	h("POST", "/app/identity/:decision", a.decide, signed...)
	h("GET", "/app/*", a.notFound)
}

// contentSecurityPolicy allows the page's own scripts, styles and images
// only: no inline script or style, no other origin, no framing.
func (a *App) contentSecurityPolicy() string {
	formAction := "'self'"
	if a.cfg.OAuth != nil {
		if u, err := url.Parse(a.cfg.OAuth.AuthorizeURL); err == nil && u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

// headers sets the security headers of every /app response. Pages carry
// patient data, so no cache keeps them.
func (a *App) headers(next echo.HandlerFunc) echo.HandlerFunc {
	csp := a.contentSecurityPolicy()
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(c.Path(), "/app/static/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

func (a *App) serveStatic(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	a.static.ServeHTTP(c.Response(), c.Request())
	return nil
}

// language picks the page language: ?lang= (remembered in a cookie), the
// cookie, then Accept-Language.
func (a *App) language(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lang := ""
		if q := c.QueryParam("lang"); langIndex(q) >= 0 {
			lang = q
			a.setCookie(c, langCookie, q, 365*24*3600)
		} else if ck, err := c.Cookie(langCookie); err == nil && langIndex(ck.Value) >= 0 {
			lang = ck.Value
		} else {
			lang = negotiate(c.Request().Header.Get("Accept-Language"))
		}
		c.Set("lang", lang)
		return next(c)
	}
}

func langOf(c echo.Context) string {
	if l, ok := c.Get("lang").(string); ok {
		return l
	}
	return "en"
}

// requireSession lets signed-in users through with their principal in the
// request context, where the interactions (and the audit) find it; others
// go to the sign-in page.
func (a *App) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		s, err := a.loadSession(req.Context(), c, sessionCookie)
		if err != nil {
			return a.fail(c, err)
		}
		if s == nil || s.user.Pending != nil {
			if req.Method != http.MethodGet {
				return a.renderError(c, http.StatusUnauthorized, T(langOf(c), "signin.expired"), "")
			}
			return c.Redirect(http.StatusSeeOther, "/app/signin?expired=1")
		}
		c.Set("session", s)
		c.SetRequest(req.WithContext(auth.WithPrincipal(req.Context(), s.user.principal())))
		return next(c)
	}
}

func sessionOf(c echo.Context) *session {
	s, _ := c.Get("session").(*session)
	return s
}

// checkCSRF refuses a state-changing request whose form does not carry the
// session's token (synchroniser token; SameSite=Strict cookies are the
// second line).
func (a *App) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method == http.MethodGet {
			return next(c)
		}
		if !sameToken(c.FormValue("csrf"), sessionOf(c).csrf) {
			return a.renderError(c, http.StatusForbidden, T(langOf(c), "error.csrf"), "")
		}
		return next(c)
	}
}

// preCSRF protects the sign-in forms, which come before any session:
// the form's token must equal the pre-sign-in cookie (double submit), so
// another site cannot sign a browser in as someone else.
func (a *App) preCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(preCookie)
		if err != nil || !sameToken(c.FormValue("csrf"), ck.Value) {
			return a.renderError(c, http.StatusForbidden, T(langOf(c), "error.csrf"), "")
		}
		return next(c)
	}
}

// devOnly hides the development sign-in unless the server runs with --dev.
func (a *App) devOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !a.cfg.Dev {
			return a.notFound(c)
		}
		return next(c)
	}
}

func (a *App) home(c echo.Context) error {
	s, err := a.loadSession(c.Request().Context(), c, sessionCookie)
	if err != nil {
		return a.fail(c, err)
	}
	if s != nil && s.user.Pending == nil {
		return c.Redirect(http.StatusSeeOther, "/app/search")
	}
	return c.Redirect(http.StatusSeeOther, "/app/signin")
}

// base is the FHIR base URL for the interactions' links.
func (a *App) base(c echo.Context) string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL
	}
	return c.Scheme() + "://" + c.Request().Host + "/fhir"
}

// fail renders an error from an interaction: an OperationOutcome's message
// as the server wrote it, anything else as a server fault with the request
// id (its cause is logged, never shown).
func (a *App) fail(c echo.Context, err error) error {
	lang := langOf(c)
	var oe *outcome.Error
	if errors.As(err, &oe) {
		msg := ""
		for _, is := range oe.Issues {
			if is.Diagnostics != "" {
				msg = is.Diagnostics
				break
			}
		}
		title := T(lang, "error.title")
		switch oe.Status {
		case http.StatusNotFound, http.StatusGone:
			title = T(lang, "error.notfound")
		case http.StatusForbidden:
			title = T(lang, "error.forbidden")
		}
		return a.renderError(c, oe.Status, title, msg)
	}
	id := c.Response().Header().Get(echo.HeaderXRequestID)
	a.log.Error("clinic page: request failed", slog.String("request_id", id), slog.String("route", c.Path()), slog.String("error", err.Error()))
	return a.renderError(c, http.StatusInternalServerError, T(lang, "error.title"), T(lang, "error.server", id))
}

// Purge deletes the sessions that have ended and long-expired grants.
func (a *App) Purge(ctx context.Context) error {
	_, err := a.sessions.PurgeSessions(ctx, a.now(), a.cfg.IdleTimeout)
	return err
}

// notFound answers unknown /app paths with a page, not an OperationOutcome.
func (a *App) notFound(c echo.Context) error {
	return a.renderError(c, http.StatusNotFound, T(langOf(c), "error.notfound"), "")
}
