package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditLog is the append-only audit log: one narrow row per BALP AuditEvent
// (https://profiles.ihe.net/ITI/BALP/), written without FHIR encoding or
// search indexing, and rendered as an AuditEvent only when an auditor reads
// it. Each row carries a SHA-256 hash chained to the previous row of its
// chain, so an edited, deleted or inserted row is found by VerifyAudit.
//
// Chains: every transaction that appends rows holds one chain "lane" of its
// gateway process until it commits, so each chain is written by one writer
// at a time and needs no lock in the database; two gateway instances on one
// PostgreSQL write separate chains. A lane starts a new chain when its
// process starts, when the month of its rows changes (so a chain never
// spans two monthly partitions, and an archived month verifies on its own)
// and after a commit whose outcome is unknown.
type AuditLog interface {
	// AppendAudit appends recs in one transaction of its own and returns
	// once they are durable. ID, Chain, Seq, Prev and Hash are set by the
	// store (on the records of recs).
	AppendAudit(ctx context.Context, recs []AuditRecord) error
	// ReadAudit returns one record by its id (an outcome 404 when absent or
	// hidden by the context's Access).
	ReadAudit(ctx context.Context, id string) (*AuditRecord, error)
	// SearchAudit returns one page of the records matching q, newest first
	// unless q.Ascending, restricted by the context's Access.
	SearchAudit(ctx context.Context, q AuditQuery) (*AuditPage, error)
	// VerifyAudit recomputes every chain and reports the first broken link
	// of each broken chain.
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
	// MigrateLegacyAudit moves AuditEvents stored as resources (before the
	// log existed) into the log, in batches, each batch one transaction:
	// convert turns a stored AuditEvent into its row (keeping its id and
	// JSON); the resource rows are removed in the same transaction. It
	// returns how many it moved.
	MigrateLegacyAudit(ctx context.Context, convert func(id string, content []byte) (AuditRecord, error)) (int, error)
}

// AuditCommitters is an AuditLog that says how many appends are usefully
// in flight at once (audit.Writer's Commits).
type AuditCommitters interface {
	AuditCommitters() int
}

// AuditCoding is a coding of an audit row (type, subtype, purpose, label).
type AuditCoding struct {
	System, Code, Display string
}

// AuditRecord is one row of the audit log: one AuditEvent.
type AuditRecord struct {
	// ID is the AuditEvent id, set by the store (EncodeAuditID), or the
	// id of an AuditEvent migrated from before the log.
	ID       string
	Recorded time.Time
	// Action is the audit-event-action code (C, R, U, D, E).
	Action string
	// Interaction is the restful-interaction code, the default subtype.
	Interaction string
	// Status is the HTTP status of the access; the outcome derives from it.
	Status int
	// EventType replaces the default type (rest) when its Code is set.
	EventType AuditCoding
	// Subtypes are the event's own subtypes, rendered before Interaction's.
	Subtypes []AuditCoding

	// Principal is false when the request had no principal (unauthenticated).
	Principal bool
	// Issuer and Subject identify the user; ClientID the OAuth client;
	// Organization the client's organization; TokenID the token ("jti").
	Issuer, Subject, ClientID, Organization, TokenID string
	// PurposeOfUse are the token's purposes of use (v3-ActReason codes).
	PurposeOfUse []string
	// ClientAddress is the client's network address; Server the host the
	// request was addressed to; Source the gateway instance that recorded it.
	ClientAddress, Server, Source string

	// Patient is the patient this event concerns ("" none): BALP asks one
	// AuditEvent per patient, so an access to several patients' data is
	// several rows sharing RequestID.
	Patient string
	// EntityType, EntityID and EntityVersion name the data resource ("" none).
	EntityType, EntityID string
	EntityVersion        int64
	// Query is a search's query string.
	Query string
	// RequestID is the X-Request-ID.
	RequestID string
	// Labels are the security labels of the data touched: whoever may not
	// see the data may not see that it was accessed either.
	Labels []AuditCoding
	// PurposeOfEvent and Reason say why (break-the-glass, steward decisions).
	PurposeOfEvent []AuditCoding
	Reason         string
	// Legacy is the JSON of an AuditEvent migrated from before the log,
	// served as it was.
	Legacy []byte

	// Chain, Seq, Prev and Hash place the row in its hash chain (set by the store).
	Chain, Seq int64
	Prev, Hash []byte
}

// ChainHash is SHA-256(prev || the row's canonical encoding): every field
// but Hash, each length-prefixed, so no two different rows encode alike.
func (r *AuditRecord) ChainHash(prev []byte) []byte {
	h := sha256.New()
	var buf []byte
	str := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	num := func(n int64) { buf = binary.BigEndian.AppendUint64(buf, uint64(n)) }
	codings := func(cs []AuditCoding) {
		num(int64(len(cs)))
		for _, c := range cs {
			str(c.System)
			str(c.Code)
			str(c.Display)
		}
	}
	h.Write(prev)
	num(r.Chain)
	num(r.Seq)
	num(r.Recorded.UnixMicro())
	str(r.ID)
	str(r.Action)
	str(r.Interaction)
	num(int64(r.Status))
	codings([]AuditCoding{r.EventType})
	codings(r.Subtypes)
	if r.Principal {
		num(1)
	} else {
		num(0)
	}
	for _, s := range []string{r.Issuer, r.Subject, r.ClientID, r.Organization, r.TokenID} {
		str(s)
	}
	num(int64(len(r.PurposeOfUse)))
	for _, s := range r.PurposeOfUse {
		str(s)
	}
	for _, s := range []string{r.ClientAddress, r.Server, r.Source, r.Patient, r.EntityType, r.EntityID} {
		str(s)
	}
	num(r.EntityVersion)
	str(r.Query)
	str(r.RequestID)
	codings(r.Labels)
	codings(r.PurposeOfEvent)
	str(r.Reason)
	str(string(r.Legacy))
	h.Write(buf)
	return h.Sum(nil)
}

// EncodeAuditID is the id of a log row: its recorded time (µs), chain and
// sequence number in base 36, so a read finds the row by its primary key in
// one monthly partition. It fits FHIR's id rule ([A-Za-z0-9\-\.]{1,64}).
func EncodeAuditID(recorded time.Time, chain, seq int64) string {
	return strconv.FormatInt(recorded.UnixMicro(), 36) + "-" + strconv.FormatUint(uint64(chain), 36) + "-" + strconv.FormatInt(seq, 36)
}

// DecodeAuditID parses an id made by EncodeAuditID; ok is false for any
// other id (a migrated AuditEvent keeps its own).
func DecodeAuditID(id string) (recorded int64, chain, seq int64, ok bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	us, err1 := strconv.ParseInt(parts[0], 36, 64)
	c, err2 := strconv.ParseUint(parts[1], 36, 64)
	s, err3 := strconv.ParseInt(parts[2], 36, 64)
	if err1 != nil || err2 != nil || err3 != nil || s < 1 {
		return 0, 0, 0, false
	}
	return us, int64(c), s, true
}

// AuditToken is a token criterion: "code" (AnySystem), "system|code",
// "|code" (no system) or "system|" (AnyCode).
type AuditToken struct {
	System, Code       string
	AnySystem, AnyCode bool
}

// Matches reports whether the token matches a coding.
func (t AuditToken) Matches(c AuditCoding) bool {
	return (t.AnySystem || t.System == c.System) && (t.AnyCode || t.Code == c.Code)
}

// AuditAgent is one agent search value (AuditEvent.agent.who) resolved to
// the rows' columns: it matches a row whose user is Subject (issued by
// Issuer unless AnyIssuer), whose client is ClientID, or whose
// organization is one of Organizations (each "" or empty: not that way).
type AuditAgent struct {
	Issuer, Subject string
	AnyIssuer       bool
	ClientID        string
	Organizations   []string
}

// AuditEntity is an entity criterion (AuditEvent.entity.what): a reference
// Type/ID (Version 0: any), a bare ID (Type ""), or, with RequestID set, the
// request id entity's identifier.
type AuditEntity struct {
	Type, ID  string
	Version   int64
	RequestID string
}

// AuditRange is [Lo, Hi) of recorded times in µs; a zero bound is open.
type AuditRange struct {
	Lo, Hi int64
}

// AuditQuery selects log rows: each field is a list of criteria, all of
// which must hold (AND); a criterion's values are alternatives (OR).
type AuditQuery struct {
	IDs      [][]string
	Patients [][]string
	Agents   [][]AuditAgent
	Dates    [][]AuditRange
	Entities [][]AuditEntity
	Actions  [][]string
	Outcomes [][]string
	Types    [][]AuditToken
	Subtypes [][]AuditToken
	Sources  [][]string
	Purposes [][]AuditToken
	// AnyPatient keeps only events that concern a patient (Patient/$export).
	AnyPatient bool
	// Labels match the security labels of the data an event concerns (_security).
	Labels    [][]AuditToken
	Ascending bool
	// Count is the page size (0: only the total when Total is set).
	Count int
	// Cursor continues a previous page (its Next).
	Cursor string
	// Total asks for the number of matches.
	Total bool
}

// AuditPage is one page of the log.
type AuditPage struct {
	Records []AuditRecord
	// Total is the number of matches, or -1 when not asked for.
	Total int
	// Next is the cursor of the following page ("" when none).
	Next string
}

// DefaultTypes are the type and subtype a row without overrides renders with.
var (
	AuditTypeRest      = AuditCoding{System: "http://terminology.hl7.org/CodeSystem/audit-event-type", Code: "rest", Display: "Restful Operation"}
	AuditSubtypeSystem = "http://hl7.org/fhir/restful-interaction"
)

// AuditVerification is the result of VerifyAudit.
type AuditVerification struct {
	Rows, Chains int64
	// Broken lists the first broken link of each broken chain.
	Broken []AuditBreak
	// Heads are the last rows of the chains: compared with heads recorded
	// elsewhere (the gateway logs them), they show a chain whose tail was
	// cut off or rewritten, which the chain itself cannot.
	Heads []AuditHead
}

// AuditHead is the last row of a chain.
type AuditHead struct {
	Chain, Seq int64
	Hash       []byte
}

func (h AuditHead) String() string {
	return fmt.Sprintf("chain %s row %d hash %x", strconv.FormatUint(uint64(h.Chain), 36), h.Seq, h.Hash)
}

// AuditBreak is a chain's first broken link.
type AuditBreak struct {
	Chain int64
	Seq   int64
	// ID is the AuditEvent id of the row where the chain breaks.
	ID string
	// Reason says what is wrong: the row's hash does not match its content
	// (edited), its predecessor is missing (deleted) or out of order.
	Reason string
}

func (b AuditBreak) String() string {
	return fmt.Sprintf("chain %s, row %d (AuditEvent/%s): %s", strconv.FormatUint(uint64(b.Chain), 36), b.Seq, b.ID, b.Reason)
}
