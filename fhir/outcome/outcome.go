// Package outcome is Mekong's one error type: a FHIR OperationOutcome with the
// HTTP status it is answered with. Every layer returns *Error for conditions a
// client can act on; anything else is a server fault rendered as a bare 500.
package outcome

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Severity is an OperationOutcome.issue.severity code.
type Severity string

// IssueType is an OperationOutcome.issue.code (http://hl7.org/fhir/issue-type).
type IssueType string

// Severities (http://hl7.org/fhir/R4/valueset-issue-severity.html).
const (
	Fatal       Severity = "fatal"
	SevError    Severity = "error"
	Warning     Severity = "warning"
	Information Severity = "information"
)

// Issue types used by Mekong (http://hl7.org/fhir/R4/valueset-issue-type.html).
const (
	CodeInvalid       IssueType = "invalid"
	CodeStructure     IssueType = "structure"
	CodeRequired      IssueType = "required"
	CodeValue         IssueType = "value"
	CodeInvariant     IssueType = "invariant"
	CodeSecurity      IssueType = "security"
	CodeLogin         IssueType = "login"
	CodeForbidden     IssueType = "forbidden"
	CodeProcessing    IssueType = "processing"
	CodeNotSupported  IssueType = "not-supported"
	CodeDuplicate     IssueType = "duplicate"
	CodeMultiple      IssueType = "multiple-matches"
	CodeNotFound      IssueType = "not-found"
	CodeDeleted       IssueType = "deleted"
	CodeTooLong       IssueType = "too-long"
	CodeConflict      IssueType = "conflict"
	CodeTransient     IssueType = "transient"
	CodeThrottled     IssueType = "throttled"
	CodeException     IssueType = "exception"
	CodeInformational IssueType = "informational"
	CodeTimeout       IssueType = "timeout"
	CodeIncomplete    IssueType = "incomplete"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    Severity  `json:"severity"`
	Code        IssueType `json:"code"`
	Diagnostics string    `json:"diagnostics,omitempty"`
	Expression  []string  `json:"expression,omitempty"`
}

// Error is an OperationOutcome together with the HTTP status that carries it.
type Error struct {
	Status int
	Issues []Issue
	// Header holds response headers the error needs (e.g. ETag on 410, Retry-After on 429).
	Header http.Header
}

// Error joins the diagnostics; it never contains resource content.
func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Issues))
	for _, is := range e.Issues {
		s := string(is.Code) + ": " + is.Diagnostics
		if len(is.Expression) > 0 {
			s += " (at " + strings.Join(is.Expression, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("%d %s", e.Status, strings.Join(parts, "; "))
}

// New builds a single-issue error.
func New(status int, code IssueType, format string, args ...any) *Error {
	return &Error{Status: status, Issues: []Issue{{Severity: SevError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// At sets the expression of every issue that has none and returns e.
func (e *Error) At(expression ...string) *Error {
	for i := range e.Issues {
		if len(e.Issues[i].Expression) == 0 {
			e.Issues[i].Expression = expression
		}
	}
	return e
}

// WithHeader adds a response header and returns e.
func (e *Error) WithHeader(key, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(key, value)
	return e
}

// Invalid is a 400 for a request or parameter the server cannot accept.
func Invalid(format string, args ...any) *Error {
	return New(http.StatusBadRequest, CodeInvalid, format, args...)
}

// NotFound is a 404.
func NotFound(format string, args ...any) *Error {
	return New(http.StatusNotFound, CodeNotFound, format, args...)
}

// Gone is a 410 for a deleted resource.
func Gone(format string, args ...any) *Error {
	return New(http.StatusGone, CodeDeleted, format, args...)
}

// Conflict is a 409.
func Conflict(format string, args ...any) *Error {
	return New(http.StatusConflict, CodeConflict, format, args...)
}

// PreconditionFailed is a 412.
func PreconditionFailed(format string, args ...any) *Error {
	return New(http.StatusPreconditionFailed, CodeConflict, format, args...)
}

// NotSupported is a 400/405/406/415-style refusal with code not-supported.
func NotSupported(status int, format string, args ...any) *Error {
	return New(status, CodeNotSupported, format, args...)
}

// Unprocessable is a 422 for a well-formed resource that breaks a rule.
func Unprocessable(code IssueType, format string, args ...any) *Error {
	return New(http.StatusUnprocessableEntity, code, format, args...)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Internal is what a client sees for a server fault: no cause, only the request id to quote.
func Internal(requestID string) *Error {
	return New(http.StatusInternalServerError, CodeException,
		"internal server error; the cause is logged under request id %q", requestID)
}

// Info is a single informational issue, used for successful outcomes.
func Info(format string, args ...any) []Issue {
	return []Issue{{Severity: Information, Code: CodeInformational, Diagnostics: fmt.Sprintf(format, args...)}}
}

type document struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id,omitempty"`
	Issue        []Issue `json:"issue"`
}

// JSON renders issues as an OperationOutcome resource.
func JSON(issues []Issue) []byte {
	if len(issues) == 0 {
		issues = Info("ok")
	}
	b, err := fhirjson.Marshal(document{ResourceType: "OperationOutcome", Issue: issues})
	if err != nil { // cannot happen: only strings
		panic(err)
	}
	return b
}
