package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/internal/auth"
)

// OAuth is the SMART App Launch standalone sign-in
// (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-standalone-launch):
// authorization code with PKCE (S256) at the configured issuer; the access
// token it returns is verified like any API token and becomes the
// session's principal.
type OAuth struct {
	// Issuer is the trusted issuer's name (its tokens' iss), shown on the button.
	Issuer       string
	AuthorizeURL string
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scope asked for; default DefaultScope.
	Scope string
	// RedirectURL is the registered callback; default from the request.
	RedirectURL string
	// Audience is SMART's aud (the FHIR base); default from the request.
	Audience string
	// Verifier checks the access token (the server's authenticator).
	Verifier auth.Authenticator
	// Client makes the token request (default: 10 s timeout).
	Client *http.Client
}

// DefaultScope is what the page asks an issuer for: sign-in, the user's
// read access to the served data, and whatever label, break-the-glass and
// audit permissions the issuer gives this user.
const DefaultScope = "openid fhirUser user/Patient.rs user/Immunization.rs user/Observation.rs"

// pendingTTL bounds the time between the redirect to the issuer and its callback.
const pendingTTL = 10 * time.Minute

// DevRole is a role of the development sign-in.
type DevRole struct {
	Key    string
	Scopes string
}

// DevRoles are the development sign-in's roles: what each kind of user of
// a border clinic holds. The scopes are real ones: a token minted with
// `mekong token --sub dev-<key> --scope '<scopes>'` sees the same in the API.
var DevRoles = []DevRole{
	{"clinic", "user/Patient.rs user/Immunization.rs user/Observation.rs " + auth.BreakGlassScope},
	{"clinician", "user/Patient.rs user/Immunization.rs user/Observation.rs " + auth.LabelScopePrefix + "*"},
	{"steward", "user/Patient.rs user/Immunization.rs user/Observation.rs " + auth.IdentityScope},
	{"auditor", "user/Patient.rs user/AuditEvent.rs user/Provenance.rs " + auth.LabelScopePrefix + "*"},
}

type signinView struct {
	Expired bool
	SMART   string // the issuer's name, "" without SMART sign-in
	Dev     bool
	Roles   []DevRole
}

func (a *App) signinPage(c echo.Context) error {
	pre := randomToken()
	a.setCookie(c, preCookie, pre, int(pendingTTL/time.Second))
	c.Set("preCSRF", pre)
	v := signinView{Expired: c.QueryParam("expired") != "", Dev: a.cfg.Dev}
	if a.cfg.Dev {
		v.Roles = DevRoles
	}
	if a.cfg.OAuth != nil {
		v.SMART = a.cfg.OAuth.Issuer
	}
	return a.render(c, http.StatusOK, "signin", T(langOf(c), "signin.title"), v)
}

// devSignin signs in as a development role. The route exists only with
// serve --dev (Config.Dev); otherwise it is 404 like any unknown path.
func (a *App) devSignin(c echo.Context) error {
	key := c.FormValue("role")
	for _, r := range DevRoles {
		if r.Key != key {
			continue
		}
		p := &auth.Principal{Issuer: auth.DevIssuer, Subject: "dev-" + r.Key, ClientID: "mekong-clinic-page",
			Organization: "Organization/mekong-dev", RawScopes: strings.Fields(r.Scopes)}
		if err := a.startSession(c, userOf(p, T("en", "role."+r.Key)+" (dev)", true), a.cfg.MaxSession); err != nil {
			return a.fail(c, err)
		}
		a.clearCookie(c, preCookie)
		return c.Redirect(http.StatusSeeOther, "/app/search")
	}
	return a.renderError(c, http.StatusBadRequest, T(langOf(c), "error.title"), "role: unknown role "+fmt.Sprintf("%q", key))
}

// smartStart sends the browser to the issuer's authorize endpoint with a
// fresh state and PKCE challenge, kept in a pending session row (so the
// callback may land on any gateway instance).
func (a *App) smartStart(c echo.Context) error {
	o := a.cfg.OAuth
	if o == nil {
		return echo.ErrNotFound
	}
	pend := &pending{State: randomToken(), Verifier: randomToken(), Redirect: a.redirectURL(c)}
	if err := a.storeSession(c, signinCookie, http.SameSiteLaxMode, user{Pending: pend}, pendingTTL); err != nil {
		return a.fail(c, err)
	}
	sum := sha256.Sum256([]byte(pend.Verifier))
	aud := o.Audience
	if aud == "" {
		aud = a.base(c)
	}
	scope := o.Scope
	if scope == "" {
		scope = DefaultScope
	}
	q := url.Values{
		"response_type": {"code"}, "client_id": {o.ClientID}, "redirect_uri": {pend.Redirect}, "scope": {scope},
		"state": {pend.State}, "aud": {aud}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(o.AuthorizeURL, "?") {
		sep = "&"
	}
	return c.Redirect(http.StatusSeeOther, o.AuthorizeURL+sep+q.Encode())
}

func (a *App) redirectURL(c echo.Context) string {
	if a.cfg.OAuth.RedirectURL != "" {
		return a.cfg.OAuth.RedirectURL
	}
	return c.Scheme() + "://" + c.Request().Host + "/app/callback"
}

// smartCallback exchanges the code for a token
// (https://www.rfc-editor.org/rfc/rfc7636#section-4.5), verifies it and
// replaces the pending row by the user's session.
func (a *App) smartCallback(c echo.Context) error {
	o := a.cfg.OAuth
	lang := langOf(c)
	if o == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	s, err := a.loadSession(ctx, c, signinCookie)
	if err != nil {
		return a.fail(c, err)
	}
	a.clearCookie(c, signinCookie)
	if s == nil || s.user.Pending == nil || !sameToken(c.QueryParam("state"), s.user.Pending.State) {
		return a.renderError(c, http.StatusBadRequest, T(lang, "error.csrf"), "state: the sign-in did not start here or took too long")
	}
	_ = a.sessions.DeleteSession(ctx, s.id) // one use only
	if e := c.QueryParam("error"); e != "" {
		return a.renderError(c, http.StatusUnauthorized, T(lang, "error.forbidden"), "the issuer answered: "+e+" "+c.QueryParam("error_description"))
	}
	tok, exp, err := a.exchange(ctx, o, c.QueryParam("code"), s.user.Pending)
	if err != nil {
		return a.renderError(c, http.StatusBadGateway, T(lang, "error.title"), err.Error())
	}
	p, err := o.Verifier.Authenticate(ctx, "Bearer "+tok)
	if err != nil {
		return a.renderError(c, http.StatusUnauthorized, T(lang, "error.forbidden"), err.Error())
	}
	ttl := a.cfg.MaxSession
	if exp > 0 && exp < ttl {
		ttl = exp
	}
	if err := a.startSession(c, userOf(p, p.Subject, false), ttl); err != nil {
		return a.fail(c, err)
	}
	// A page, not a redirect: the navigation it starts is same-site, so
	// the browser sends the new SameSite=Strict session cookie with it.
	return a.render(c, http.StatusOK, "continue", T(lang, "signin.title"), nil)
}

// exchange is the token request; the token itself is never logged or kept.
func (a *App) exchange(ctx context.Context, o *OAuth, code string, p *pending) (string, time.Duration, error) {
	if code == "" {
		return "", 0, fmt.Errorf("code: the issuer sent no authorization code")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.Redirect},
		"code_verifier": {p.Verifier}, "client_id": {o.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.ClientSecret))
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("the issuer's token endpoint could not be reached")
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body); err != nil || res.StatusCode != http.StatusOK || body.AccessToken == "" {
		return "", 0, fmt.Errorf("the issuer refused the sign-in (HTTP %d %s %s)", res.StatusCode, body.Error, body.Description)
	}
	return body.AccessToken, time.Duration(body.ExpiresIn) * time.Second, nil
}

func (a *App) signout(c echo.Context) error {
	if err := a.sessions.DeleteSession(c.Request().Context(), sessionOf(c).id); err != nil {
		return a.fail(c, err)
	}
	a.clearCookie(c, sessionCookie)
	return c.Redirect(http.StatusSeeOther, "/app/signin")
}
