package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Cookie names. The session cookie holds a random secret whose SHA-256 is
// the session's id in the database; nothing else about the user is in the
// browser.
const (
	sessionCookie = "mekong_session"
	// preCookie carries the CSRF secret of the sign-in forms (before there
	// is a session) and the id of a pending SMART sign-in.
	preCookie  = "mekong_pre"
	langCookie = "mekong_lang"
	// signinCookie names the pending SMART sign-in. It is SameSite=Lax:
	// the issuer's redirect back is a cross-site navigation, on which a
	// Strict cookie is not sent.
	signinCookie = "mekong_signin"
)

// user is the signed-in principal as stored in the session row.
type user struct {
	Issuer       string   `json:"iss"`
	Subject      string   `json:"sub"`
	ClientID     string   `json:"client_id,omitempty"`
	Organization string   `json:"org,omitempty"`
	Scopes       []string `json:"scope,omitempty"`
	PurposeOfUse []string `json:"pou,omitempty"`
	TokenID      string   `json:"jti,omitempty"`
	// Name is what the header shows (the role for development sign-ins).
	Name string `json:"name,omitempty"`
	// Dev marks a development sign-in.
	Dev bool `json:"dev,omitempty"`
	// Pending is set on a sign-in that waits for the issuer's callback.
	Pending *pending `json:"pending,omitempty"`
}

// pending is a SMART sign-in between the redirect and the callback
// (state and the PKCE verifier, RFC 7636).
type pending struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Redirect string `json:"redirect"`
}

func userOf(p *auth.Principal, name string, dev bool) user {
	return user{Issuer: p.Issuer, Subject: p.Subject, ClientID: p.ClientID, Organization: p.Organization, Scopes: p.RawScopes,
		PurposeOfUse: p.PurposeOfUse, TokenID: p.TokenID, Name: name, Dev: dev}
}

// principal rebuilds the request principal, exactly as a bearer token with
// the same claims would give it: the page sees no more than the API.
func (u user) principal() *auth.Principal {
	p := &auth.Principal{Issuer: u.Issuer, Subject: u.Subject, ClientID: u.ClientID, Organization: u.Organization,
		RawScopes: u.Scopes, PurposeOfUse: u.PurposeOfUse, TokenID: u.TokenID}
	p.Scopes, p.Labels = auth.ParseScopes(u.Scopes)
	return p
}

// session is a live session of the request.
type session struct {
	id   string
	csrf string
	user user
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// startSession stores a new session for u and sets its cookie.
func (a *App) startSession(c echo.Context, u user, ttl time.Duration) error {
	return a.storeSession(c, sessionCookie, http.SameSiteStrictMode, u, ttl)
}

func (a *App) storeSession(c echo.Context, cookie string, sameSite http.SameSite, u user, ttl time.Duration) error {
	body, err := fhirjson.Marshal(u)
	if err != nil {
		return err
	}
	secret := randomToken()
	now := a.now()
	s := store.Session{ID: hashID(secret), Principal: body, CSRF: randomToken(), Created: now, LastSeen: now, Expires: now.Add(ttl)}
	if err := a.sessions.CreateSession(c.Request().Context(), s); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: cookie, Value: secret, Path: "/app", HttpOnly: true, SameSite: sameSite, Secure: a.secure(c)})
	return nil
}

// loadSession returns the request's live session, nil when there is none.
func (a *App) loadSession(ctx context.Context, c echo.Context, name string) (*session, error) {
	ck, err := c.Cookie(name)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	s, err := a.sessions.TouchSession(ctx, hashID(ck.Value), a.now(), a.cfg.IdleTimeout)
	if err != nil || s == nil {
		return nil, err
	}
	var u user
	if err := json.Unmarshal(s.Principal, &u); err != nil {
		return nil, nil
	}
	return &session{id: s.ID, csrf: s.CSRF, user: u}, nil
}

// setCookie sets an HttpOnly, SameSite=Strict cookie on /app, Secure when
// the page is served over https (directly or behind a TLS proxy).
func (a *App) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/app", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: a.secure(c)})
}

func (a *App) secure(c echo.Context) bool {
	return c.Scheme() == "https" || a.cfg.SecureCookies
}

func (a *App) clearCookie(c echo.Context, name string) { a.setCookie(c, name, "", -1) }
