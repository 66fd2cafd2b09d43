package server

import (
	"container/list"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
)

// authenticate puts the verified caller in the request context, or answers
// 401 with WWW-Authenticate: Bearer (https://www.rfc-editor.org/rfc/rfc6750#section-3)
// and an OperationOutcome. Nothing of the token is logged or echoed.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		credential, err := oneCredential(req)
		if err != nil {
			return err
		}
		// A server built without an authenticator (Config.Auth nil: tests
		// embedding the handler) keeps a principal its caller already put
		// in the request context.
		if s.cfg.Auth == nil && auth.FromContext(req.Context()) != nil {
			return next(c)
		}
		p, err := s.auth.Authenticate(req.Context(), credential)
		if err != nil {
			return unauthorized(err)
		}
		c.SetRequest(req.WithContext(auth.WithPrincipal(req.Context(), p)))
		return next(c)
	}
}

func unauthorized(err error) *outcome.Error {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		ae = &auth.Error{Code: "invalid_token", Description: "the token could not be verified"}
	}
	challenge := `Bearer realm="mekong"`
	if ae.Code != "" {
		challenge += `, error="` + ae.Code + `", error_description="` + strings.ReplaceAll(ae.Description, `"`, `'`) + `"`
	}
	return outcome.New(http.StatusUnauthorized, outcome.CodeLogin, "%s", ae.Description).WithHeader("WWW-Authenticate", challenge)
}

// throttle limits each client (the token's client_id) to its token bucket:
// over the limit is 429 with Retry-After
// (https://hl7.org/fhir/R4/valueset-issue-type.html: throttled).
func (s *Server) throttle(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.limits == nil {
			return next(c)
		}
		client := "anonymous"
		if p := auth.FromContext(c.Request().Context()); p != nil && p.ClientID != "" {
			client = p.Issuer + " " + p.ClientID
		}
		if wait, ok := s.limits.allow(client, time.Now()); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			return outcome.New(http.StatusTooManyRequests, outcome.CodeThrottled,
				"too many requests from this client; retry after %d s", secs).WithHeader("Retry-After", strconv.Itoa(secs))
		}
		return next(c)
	}
}

// limiters holds a token bucket per client, at most max of them: the least
// recently seen client's bucket is dropped first, so a flood of client ids
// cannot grow memory without bound.
type limiters struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	max   int
	byKey map[string]*list.Element
	lru   *list.List // of *clientLimiter, most recent at the front
}

type clientLimiter struct {
	key string
	l   *rate.Limiter
}

func newLimiters(cfg *auth.RateLimit, max int) *limiters {
	if cfg == nil {
		return nil
	}
	return &limiters{limit: rate.Limit(cfg.PerSecond), burst: cfg.Burst, max: max, byKey: map[string]*list.Element{}, lru: list.New()}
}

// allow takes a token for key; when none is left it says how long until one is.
func (ls *limiters) allow(key string, now time.Time) (time.Duration, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	e, ok := ls.byKey[key]
	if ok {
		ls.lru.MoveToFront(e)
	} else {
		if ls.lru.Len() >= ls.max {
			old := ls.lru.Back()
			ls.lru.Remove(old)
			delete(ls.byKey, old.Value.(*clientLimiter).key)
		}
		e = ls.lru.PushFront(&clientLimiter{key: key, l: rate.NewLimiter(ls.limit, ls.burst)})
		ls.byKey[key] = e
	}
	r := e.Value.(*clientLimiter).l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// capSecurity is CapabilityStatement.rest.security.
type capSecurity struct {
	CORS        bool         `json:"cors"`
	Service     []capConcept `json:"service"`
	Description string       `json:"description"`
}

type capConcept struct {
	Coding []capCoding `json:"coding"`
	Text   string      `json:"text,omitempty"`
}

type capCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

func (s *Server) security() *capSecurity {
	return &capSecurity{
		CORS: true,
		Service: []capConcept{{Coding: []capCoding{{System: "http://terminology.hl7.org/CodeSystem/restful-security-service",
			Code: "SMART-on-FHIR", Display: "SMART-on-FHIR"}}}},
		Description: "Every request except /metadata and /.well-known/smart-configuration needs Authorization: Bearer <JWT> " +
			"from a trusted issuer. SMART v2 (patient/user/system Type.cruds) and v1 (.read, .write, .*) scopes; patient/ scopes " +
			"are limited to the token's patient claim. Resources labelled v3-ActCode HIV or v3-Confidentiality R/V (HIV and TB " +
			"results are labelled on write) exist only for tokens with the matching mekong/label.* scope. A resource the caller " +
			"may not see is 404. Missing or invalid tokens are 401, missing scopes 403, over the client's rate limit 429.",
	}
}

// smartConfiguration describes this resource server
// (https://hl7.org/fhir/smart-app-launch/conformance.html): the scopes it
// enforces, and of the configured issuers' OAuth service only what is
// configured. Tokens come from those issuers, so a grant is advertised only
// with the endpoint that serves it: client_credentials (SMART Backend
// Services, private_key_jwt) with a token_endpoint, authorization_code
// (with PKCE S256) with an authorization_endpoint as well. With neither,
// the document lists no grant at all rather than one a client cannot use.
func (s *Server) smartConfiguration(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", fhirjson.MustMarshal(s.smartDocument()))
}

type smartDocument struct {
	AuthorizeEndpoint    string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint        string   `json:"token_endpoint,omitempty"`
	GrantTypes           []string `json:"grant_types_supported"`
	TokenAuthMethods     []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	CodeChallengeMethods []string `json:"code_challenge_methods_supported,omitempty"`
	ResponseTypes        []string `json:"response_types_supported,omitempty"`
	Scopes               []string `json:"scopes_supported"`
	Capabilities         []string `json:"capabilities"`
}

func (s *Server) smartDocument() smartDocument {
	d := smartDocument{GrantTypes: []string{}, Scopes: s.scopesSupported(),
		Capabilities: []string{"permission-v1", "permission-v2", "permission-patient", "permission-user"}}
	if s.svc.HealthCardsEnabled() { // cards-specification.md, "Discovery of FHIR Support"
		d.Capabilities = append(d.Capabilities, "health-cards")
	}
	if s.cfg.TokenEndpoint == "" {
		return d
	}
	d.TokenEndpoint = s.cfg.TokenEndpoint
	d.GrantTypes = append(d.GrantTypes, "client_credentials")
	d.TokenAuthMethods = []string{"private_key_jwt"}
	d.Capabilities = append(d.Capabilities, "client-confidential-asymmetric")
	if s.cfg.AuthorizeEndpoint != "" {
		d.AuthorizeEndpoint = s.cfg.AuthorizeEndpoint
		d.GrantTypes = append(d.GrantTypes, "authorization_code")
		d.CodeChallengeMethods = []string{"S256"}
		d.ResponseTypes = []string{"code"}
		d.Capabilities = append(d.Capabilities, "launch-standalone")
	}
	return d
}

func (s *Server) scopesSupported() []string {
	var out []string
	for _, ctx := range []string{"patient", "user", "system"} {
		out = append(out, ctx+"/*.cruds", ctx+"/*.rs", ctx+"/*.read", ctx+"/*.write")
		for _, t := range s.svc.Types() {
			out = append(out, ctx+"/"+t+".cruds", ctx+"/"+t+".rs")
		}
	}
	out = append(out, auth.LabelScopePrefix+"*")
	for _, n := range []string{"HIV", "R", "V", "TB"} {
		out = append(out, auth.LabelScopePrefix+n)
	}
	return out
}

// oneCredential is the request's Authorization header. RFC 7235 section 4.2:
// Authorization holds one credential. With two headers, which one a proxy,
// a log or this server honours is a guess; an ambiguous credential is
// refused, not picked from. Every route that reads a token goes through it
// (the FHIR routes, /metrics).
func oneCredential(req *http.Request) (string, error) {
	if n := len(req.Header.Values(echo.HeaderAuthorization)); n > 1 {
		return "", outcome.New(http.StatusBadRequest, outcome.CodeSecurity,
			"the request has %d Authorization headers; send exactly one (RFC 7235 section 4.2: one credential per request)", n).At("Authorization")
	}
	return req.Header.Get(echo.HeaderAuthorization), nil
}
