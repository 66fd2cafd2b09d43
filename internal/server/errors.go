package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

func errTooLarge(limit int64) *outcome.Error {
	return outcome.New(http.StatusRequestEntityTooLarge, outcome.CodeTooLong,
		"the request body exceeds the limit of %d bytes (set with --max-body / MEKONG_MAX_BODY)", limit)
}

// handleError is the one place errors become responses: an *outcome.Error
// keeps its status; echo's routing errors are translated; anything else is a
// server fault, logged with the request id and answered 500 without detail.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	oe := s.toOutcome(err, c)
	for k, vs := range oe.Header {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	body := outcome.JSON(oe.Issues)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(oe.Status)
		return
	}
	if werr := writeJSON(c, oe.Status, body); werr != nil {
		s.log.Warn("writing error response", slog.String("request_id", requestID(c)), slog.String("error", werr.Error()))
	}
}

func (s *Server) toOutcome(err error, c echo.Context) *outcome.Error {
	if oe, ok := outcome.As(err); ok {
		return oe
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(mbe.Limit)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return outcome.NotFound("no FHIR endpoint at %s %s; see %s/metadata", c.Request().Method, c.Request().URL.Path, s.baseURL(c))
		case http.StatusMethodNotAllowed:
			return outcome.NotSupported(http.StatusMethodNotAllowed, "%s is not allowed on %s; see %s/metadata for the interactions served",
				c.Request().Method, c.Request().URL.Path, s.baseURL(c))
		case http.StatusRequestEntityTooLarge:
			return errTooLarge(s.cfg.MaxBody)
		}
		if he.Code < 500 {
			return outcome.New(he.Code, outcome.CodeInvalid, "%v", he.Message)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return outcome.New(http.StatusServiceUnavailable, outcome.CodeTimeout, "the request took too long; try again or narrow it")
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client went away; nobody reads this answer.
		return outcome.New(499, outcome.CodeIncomplete, "request cancelled by the client")
	}
	id := requestID(c)
	s.log.Error("internal error", slog.String("request_id", id), slog.String("route", c.Path()), slog.String("error", fmt.Sprint(err)))
	return outcome.Internal(id)
}
