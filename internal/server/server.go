// Package server is Mekong's HTTP front: echo routes, content negotiation,
// Prefer handling and the one error handler that renders every error as an
// OperationOutcome. Handlers are thin: they read the request, call one
// interaction in package rest and write its response.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/mekong-fhir/mekong/internal/app"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/definitions"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/metrics"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Config is what the HTTP layer needs to know.
type Config struct {
	// BaseURL is the public service base ("https://mekong.example.org/fhir");
	// empty means derive it from each request's scheme and Host.
	BaseURL string
	// MaxBody is the largest accepted request body in bytes.
	MaxBody int64
	// Version is the software version shown in the CapabilityStatement.
	Version string
	// Bulk serves $export and $import; nil leaves them out.
	Bulk *bulk.Service
	// MaxImportBody is the largest $import body (default 1 GiB).
	MaxImportBody int64
	// Mappings configures $convert, $ingest and $export-source (the DHIS2
	// mapping configuration).
	Mappings ingest.Options
	// Auth verifies each request's bearer token. nil lets every request in
	// as an unauthenticated principal: for tests that build the server
	// directly. The command line always sets it (auth.Open only for
	// --auth none).
	Auth auth.Authenticator
	// RateLimit limits each client; nil is unlimited.
	RateLimit *auth.RateLimit
	// TokenEndpoint is the issuer's OAuth token endpoint, advertised in
	// /.well-known/smart-configuration when set.
	TokenEndpoint string
	// AuthorizeEndpoint is the issuer's OAuth authorization endpoint;
	// advertised (with the authorization_code grant) only together with
	// TokenEndpoint.
	AuthorizeEndpoint string
	// Metrics records requests, the audit writer, bulk jobs and $ingest,
	// and is served at GET /metrics to tokens with the scope
	// mekong/metrics; nil records nothing and serves no /metrics.
	Metrics *metrics.Metrics
	// App is the clinic page served at /app; nil serves none.
	App *app.App
	// NoAudit turns the auditing of reads and searches off. It exists only
	// so a benchmark can measure what auditing costs (serve
	// --bench-no-audit); writes keep their records.
	NoAudit bool
}

// maxClients bounds the per-client rate limiters kept in memory.
const maxClients = 10000

// DefaultMaxBody is the default request body limit (10 MiB).
const DefaultMaxBody = 10 << 20

// DefaultMaxImportBody is the default $import body limit (1 GiB): national
// loads are hundreds of thousands of records in one NDJSON upload.
const DefaultMaxImportBody = 1 << 30

// Server is the HTTP handler.
type Server struct {
	cfg    Config
	svc    *rest.Service
	store  store.Store
	log    *slog.Logger
	e      *echo.Echo
	reg    *registry
	start  time.Time
	auth   auth.Authenticator
	limits *limiters
	defs   *definitions.Catalog
	// audits commits the AuditEvents of reads and searches (group commit).
	audits *audit.Writer
	// served are the stored types, for the metrics' type label.
	served map[string]bool
}

// New builds the handler.
func New(cfg Config, svc *rest.Service, st store.Store, log *slog.Logger) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxImportBody <= 0 {
		cfg.MaxImportBody = DefaultMaxImportBody
	}
	s := &Server{cfg: cfg, svc: svc, store: st, log: log, e: echo.New(), reg: &registry{}, start: time.Now(), defs: mustCatalog(),
		auth: cfg.Auth, limits: newLimiters(cfg.RateLimit, maxClients)}
	auditLog, ok := st.(store.AuditLog)
	if !ok {
		auditLog = noAuditLog{}
	}
	s.audits = audit.NewWriter(auditLog)
	if c, ok := st.(store.AuditCommitters); ok {
		s.audits.Commits = c.AuditCommitters()
	}
	if s.auth == nil {
		s.auth = auth.Open{}
	}
	s.served = map[string]bool{}
	for _, t := range svc.Types() {
		s.served[t] = true
	}
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	s.e.JSONSerializer = jsonSerializer{}
	s.e.Pre(trimTrailingSlash)
	s.e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{
			// A client-chosen id is kept only when it is short and plain, so it
			// cannot forge log lines.
			Generator: newRequestID,
			RequestIDHandler: func(c echo.Context, id string) {
				if !plainRequestID(id) {
					id = newRequestID()
					c.Response().Header().Set(echo.HeaderXRequestID, id)
				}
				c.Set("request_id", id)
			},
		}),
		s.observe, // metrics and trace attributes: every status, the audit commit's wait included
		s.accessLog,
		s.auditTrail, // outside everything that can refuse a request
		s.recoverPanics,
		s.limitBody,
		// Browser apps send bearer tokens, not cookies, so any origin may call.
		middleware.CORSWithConfig(middleware.CORSConfig{
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "If-Match", "If-None-Match", "If-None-Exist", "Prefer"},
			ExposeHeaders: []string{"Location", "ETag", "Last-Modified", "Retry-After", "WWW-Authenticate", echo.HeaderXRequestID},
		}),
		s.misroutedOperation,
	)
	s.routes()
	cfg.Metrics.RegisterAudit(s.audits)
	if cfg.Metrics != nil {
		svc.MatchObserver = cfg.Metrics.ObserveMatch
	}
	return s
}

// ServeHTTP implements http.Handler. HEAD is served as GET (RFC 9110
// section 9.3.2: the same header fields, no content): net/http drops the
// body of a response to a HEAD request, which w still answers, so `curl -I`
// and monitoring probes get what GET would say, not 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(r.Context())
		r.Method = http.MethodGet
	}
	s.e.ServeHTTP(w, r)
}

func requestID(c echo.Context) string {
	if id, ok := c.Get("request_id").(string); ok {
		return id
	}
	return ""
}

func plainRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return false
		}
	}
	return true
}

// accessLog logs one line per request: method, route pattern, status, size
// and duration. Never the query string or body: they carry patient
// identifiers and clinical data.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t0 := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		res := c.Response()
		s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Duration("duration", time.Since(t0)),
		)
		return nil
	}
}

func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = panicError{value: r}
			}
		}()
		return next(c)
	}
}

type panicError struct{ value any }

func (p panicError) Error() string { return "panic: " + toString(p.value) }

func toString(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	default:
		return "non-error panic"
	}
}

// limitBody refuses bodies over the limit with 413 before they are read
// whole; a body without Content-Length is cut off at the limit while read.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		limit := s.cfg.MaxBody
		if strings.HasSuffix(c.Path(), "/$import") {
			limit = s.cfg.MaxImportBody
		}
		if req.ContentLength > limit {
			return errTooLarge(limit)
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		return next(c)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
