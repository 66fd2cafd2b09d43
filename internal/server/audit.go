package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// auditTrail records every request to the FHIR API as BALP AuditEvents
// (https://profiles.ihe.net/ITI/BALP/), failed and denied ones included.
// The handler's response is held in memory; the AuditEvents of what it did
// are committed (with other requests', see audit.Writer) and only then is
// the response sent. If they cannot be stored the client gets 503, never
// data whose access went unrecorded. It must run outside authentication,
// so a 401 is audited too.
func (s *Server) auditTrail(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !audited(c) || s.cfg.NoAudit {
			return next(c)
		}
		req := c.Request()
		col := audit.NewCollector(audit.Request{ID: requestID(c), ClientAddress: c.RealIP(), Server: hostOnly(req.Host)})
		c.SetRequest(req.WithContext(audit.WithCollector(req.Context(), col)))
		res := c.Response()
		orig := res.Writer
		buf := &heldResponse{ResponseWriter: orig}
		res.Writer = buf
		defer func() { res.Writer = orig }()

		if err := next(c); err != nil {
			c.Error(err)
		}
		// The principal is read after the handler: authentication, inside
		// this middleware, puts it in the request it passes on.
		ctx := c.Request().Context()
		events := col.Events()
		if len(events) == 0 {
			if !strings.HasPrefix(c.Path(), "/fhir") {
				// A clinic page that read no data (a form, sign-in) has nothing to record.
				return buf.release()
			}
			events = []audit.Event{s.describe(c)}
		}
		waited := s.cfg.Metrics.AuditWait()
		err := s.audits.Write(ctx, s.auditRecords(events, col.Request, auth.FromContext(ctx), res.Status))
		waited()
		if err != nil {
			s.log.Error("audit write failed; the response is withheld", slog.String("request_id", col.Request.ID), slog.String("error", err.Error()))
			return s.auditFailed(c, orig)
		}
		return buf.release()
	}
}

// AuditStats reports the audit transactions committed for reads and
// searches and the AuditEvents they held (benchmarks show the batching).
func (s *Server) AuditStats() (commits, events int64) { return s.audits.Stats() }

// audited reports whether a route touches stored data: everything under
// the FHIR base except the CapabilityStatement and $validate, which read
// none, and the clinic page's routes (its interactions note what they
// read, exactly as the API's do), except its static assets.
func audited(c echo.Context) bool {
	p := c.Path()
	if strings.HasPrefix(p, "/app") {
		return !strings.HasPrefix(p, "/app/static/")
	}
	return strings.HasPrefix(p, "/fhir") && p != "/fhir/metadata" && !strings.HasSuffix(p, "/$validate") &&
		!strings.HasPrefix(p, "/fhir/.well-known/") // public documents (SMART configuration, health card keys)
}

// describe is the event of a request no interaction noted: one refused
// before it ran (401, 403, an unknown type) or failed on the way.
func (s *Server) describe(c echo.Context) audit.Event {
	sub := ""
	switch p := c.Path(); {
	case strings.HasSuffix(p, "/_history"):
		sub = "_history"
	case strings.HasSuffix(p, "/_search"):
		sub = "_search"
	}
	var vid int64
	if v := c.Param("vid"); v != "" {
		vid, _ = strconv.ParseInt(v, 10, 64)
	}
	q := c.QueryParams()
	if sub == "_search" && c.Request().PostForm != nil {
		q = c.Request().Form
	}
	ev := audit.Describe(c.Request().Method, c.Param("type"), c.Param("id"), vid, sub, q)
	// An operation refused before it ran ($summary without a token, say)
	// is that operation, not the read or create its method and URL would
	// otherwise suggest; its parameters are left out (they may name a
	// person, and the caller was not let in).
	if i := strings.LastIndex(c.Path(), "/$"); i >= 0 {
		ev.Action, ev.Interaction, ev.Query = audit.ActionExecute, "operation", c.Path()[i+1:]
		if ev.Type != "Patient" || ev.ID == "" {
			ev.Patients = nil
		}
	}
	return ev
}

// auditRecords are the audit log rows of the events not yet stored (a
// write's were stored with it): plain values, nothing encoded.
func (s *Server) auditRecords(events []audit.Event, req audit.Request, p *auth.Principal, status int) []store.AuditRecord {
	now := time.Now()
	var out []store.AuditRecord
	for _, ev := range events {
		if ev.Stored {
			continue
		}
		out = append(out, audit.Records(ev, req, p, status, now, s.svc.Records().Source)...)
	}
	return out
}

// AuditWriter is the group-commit writer of reads' and searches' audit
// rows; its QueueDepth and CommitLatency are for /metrics.
func (s *Server) AuditWriter() *audit.Writer { return s.audits }

// noAuditLog stands for a store without an audit log: every audited
// request fails (503) rather than go unrecorded.
type noAuditLog struct{ store.AuditLog }

func (noAuditLog) AppendAudit(context.Context, []store.AuditRecord) error {
	return errors.New("this store keeps no audit log")
}

// auditFailed replaces the held response with a 503.
func (s *Server) auditFailed(c echo.Context, orig http.ResponseWriter) error {
	res := c.Response()
	res.Writer = orig
	h := orig.Header()
	for k := range h {
		if k != echo.HeaderXRequestID {
			delete(h, k)
		}
	}
	oe := outcome.New(http.StatusServiceUnavailable, outcome.CodeTransient,
		"the access could not be recorded in the audit log, so it was not carried out; try again")
	h.Set(echo.HeaderContentType, "application/fhir+json; charset=utf-8")
	h.Set("Retry-After", "1")
	orig.WriteHeader(oe.Status)
	_, err := orig.Write(outcome.JSON(oe.Issues))
	res.Status = oe.Status
	return err
}

// heldResponse keeps a response in memory until its audit is committed.
type heldResponse struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (h *heldResponse) WriteHeader(code int) { h.status = code }

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// Flush is a no-op: nothing leaves before the audit is committed.
func (h *heldResponse) Flush() {}

func (h *heldResponse) release() error {
	if h.status == 0 {
		return nil
	}
	h.ResponseWriter.WriteHeader(h.status)
	_, err := h.ResponseWriter.Write(h.body.Bytes())
	return err
}

func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}
