package server

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	restpkg "github.com/mekong-fhir/mekong/internal/rest"
)

// CapabilityStatement shapes (https://hl7.org/fhir/R4/capabilitystatement.html).
type (
	capStatement struct {
		ResourceType   string      `json:"resourceType"`
		Status         string      `json:"status"`
		Date           string      `json:"date"`
		Publisher      string      `json:"publisher"`
		Kind           string      `json:"kind"`
		Software       capSoftware `json:"software"`
		Implementation capImpl     `json:"implementation"`
		FhirVersion    string      `json:"fhirVersion"`
		Format         []string    `json:"format"`
		Rest           []capRest   `json:"rest"`
	}
	capSoftware struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	capImpl struct {
		Description string `json:"description"`
		URL         string `json:"url"`
	}
	capRest struct {
		Mode          string           `json:"mode"`
		Documentation string           `json:"documentation,omitempty"`
		Security      *capSecurity     `json:"security,omitempty"`
		Resource      []capResource    `json:"resource"`
		Interaction   []capInteraction `json:"interaction,omitempty"`
		Operation     []capOperation   `json:"operation,omitempty"`
	}
	capResource struct {
		Type              string           `json:"type"`
		Documentation     string           `json:"documentation,omitempty"`
		Interaction       []capInteraction `json:"interaction"`
		Versioning        string           `json:"versioning"`
		ReadHistory       bool             `json:"readHistory"`
		UpdateCreate      bool             `json:"updateCreate"`
		ConditionalCreate bool             `json:"conditionalCreate"`
		ConditionalRead   string           `json:"conditionalRead"`
		ConditionalUpdate bool             `json:"conditionalUpdate"`
		ConditionalDelete string           `json:"conditionalDelete"`
		SearchInclude     []string         `json:"searchInclude,omitempty"`
		SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
		SearchParam       []capSearchParam `json:"searchParam,omitempty"`
		Operation         []capOperation   `json:"operation,omitempty"`
	}
	capSearchParam struct {
		Name          string `json:"name"`
		Definition    string `json:"definition,omitempty"`
		Type          string `json:"type"`
		Documentation string `json:"documentation,omitempty"`
	}
	capInteraction struct {
		Code          string `json:"code"`
		Documentation string `json:"documentation,omitempty"`
	}
	capOperation struct {
		Name          string `json:"name"`
		Definition    string `json:"definition"`
		Documentation string `json:"documentation,omitempty"`
	}
)

var interactionDocs = map[string]string{
	"create":           "Server-assigned id; If-None-Exist takes any search criteria and is atomic.",
	"update":           "Update as create with a client id; If-Match W/\"n\" and If-None-Match: * honoured; conditional update PUT [type]?criteria.",
	"delete":           "Logical delete; a later read is 410 Gone. Deleting what does not exist succeeds. Conditional delete DELETE [type]?criteria (one match; several are 412).",
	"patch":            "JSON Patch (application/json-patch+json) and FHIRPath Patch (Parameters); validated like an update; If-Match honoured; conditional patch PATCH [type]?criteria (one match; none is 404, several 412); also in batch and transaction Bundles.",
	"history-instance": "Newest first; _count (max 1000), _since, opaque next links.",
	"history-type":     "Newest first; _count (max 1000), _since, opaque next links.",
	"history-system":   "Newest first; _count (max 1000), _since, opaque next links.",
	"search-type":      "GET and POST _search; every R4 parameter of the type listed below, chains, _has, _include/_revinclude (:iterate), _sort, _total, _summary, _elements, keyset paging.",
	"transaction":      "POST [base] with a transaction Bundle: all or nothing in one database transaction; urn:uuid and conditional references resolved; DELETE, POST, PUT, GET order.",
	"batch":            "POST [base] with a batch Bundle: each entry processed on its own, each with its own status and outcome.",
	"search-system":    "GET [base]?_type=... and POST [base]/_search over the common parameters (_id, _lastUpdated, _tag, _security, _profile, _source).",
}

// capabilityStatement builds the statement from the registry.
func (s *Server) capabilityStatement(base string) []byte {
	ops := s.reg.operationsFor("")
	var interactions []capInteraction
	for _, code := range sortedUnique(s.reg.typeInteractions) {
		interactions = append(interactions, capInteraction{Code: code, Documentation: interactionDocs[code]})
	}
	has := map[string]bool{}
	for _, code := range s.reg.typeInteractions {
		has[code] = true
	}
	rest := capRest{Mode: "server", Documentation: searchDoc(s.svc.Registry()), Security: s.security()}
	reg := s.svc.Registry()
	for _, t := range s.svc.Types() {
		res := capResource{
			Type: t, Interaction: interactions,
			Versioning:        "versioned-update",
			ReadHistory:       has["vread"],
			UpdateCreate:      has["update"],
			ConditionalCreate: has["create"],
			ConditionalRead:   "not-match",
			ConditionalUpdate: has["search-type"] && has["update"],
			ConditionalDelete: "single",
			Operation:         append(append([]capOperation{}, ops...), s.reg.operationsFor(t)...),
		}
		if !has["search-type"] {
			res.ConditionalDelete = "not-supported"
		}
		if !s.svc.Writable(t) {
			recordOnly(&res)
		}
		if has["search-type"] && t == "AuditEvent" {
			// Served from the audit log: its own parameters, no includes.
			for _, p := range reg.Params(t) {
				if slices.Contains(restpkg.AuditSearchParams, p.Code) {
					res.SearchParam = append(res.SearchParam, capSearchParam{Name: p.Code, Definition: p.URL, Type: p.Type, Documentation: p.Documentation(t)})
				}
			}
		} else if has["search-type"] {
			res.SearchInclude = []string{"*"}
			res.SearchRevInclude = []string{"*"}
			for _, p := range reg.Params(t) {
				res.SearchParam = append(res.SearchParam, capSearchParam{Name: p.Code, Definition: p.URL, Type: p.Type, Documentation: p.Documentation(t)})
				if p.Type == "reference" {
					res.SearchInclude = append(res.SearchInclude, t+":"+p.Code)
				}
			}
			for _, other := range s.svc.Types() {
				if other == "AuditEvent" {
					continue // AuditEvents are searched at /AuditEvent, never included
				}
				for _, p := range reg.Params(other) {
					if p.Type == "reference" && targets(p, t) {
						res.SearchRevInclude = append(res.SearchRevInclude, other+":"+p.Code)
					}
				}
			}
		}
		rest.Resource = append(rest.Resource, res)
	}
	rest.Resource = append(rest.Resource, s.definitionalResources()...)
	rest.Operation = s.reg.operationsFor(systemLevel)
	for _, code := range sortedUnique(s.reg.systemInteractions) {
		rest.Interaction = append(rest.Interaction, capInteraction{Code: code, Documentation: interactionDocs[code]})
	}
	cs := capStatement{
		ResourceType: "CapabilityStatement", Status: "active", Kind: "instance",
		Date:      resource.FormatInstant(s.start),
		Publisher: "Mekong",
		Software:  capSoftware{Name: "Mekong", Version: s.cfg.Version},
		Implementation: capImpl{URL: base,
			Description: "Mekong FHIR R4 gateway for cross-border health records of migrant workers (Cambodia, Thailand, IOM)"},
		FhirVersion: "4.0.1",
		Format:      []string{"application/fhir+json", "json"},
		Rest:        []capRest{rest},
	}
	b, err := fhirjson.Marshal(cs)
	if err != nil {
		panic(err) // plain structs
	}
	return b
}

// recordOnly limits a type the server writes itself (Provenance,
// AuditEvent) to what clients may do with it: read and search.
func recordOnly(res *capResource) {
	var keep []capInteraction
	for _, in := range res.Interaction {
		if in.Code == "read" || in.Code == "vread" || in.Code == "search-type" {
			keep = append(keep, in)
		}
	}
	res.Interaction = keep
	res.UpdateCreate, res.ConditionalCreate, res.ConditionalUpdate = false, false, false
	res.ConditionalDelete = "not-supported"
	res.Operation = nil
	res.Documentation = "Written by the server only, in the transaction of each write (Provenance) or before each response (AuditEvent); create, update, delete and patch are 405."
}

func (s *Server) metadata(c echo.Context) error {
	return writeJSON(c, http.StatusOK, s.capabilityStatement(s.baseURL(c)))
}

func targets(p *search.Param, typ string) bool {
	if len(p.Targets) == 0 {
		return true
	}
	for _, t := range p.Targets {
		if t == typ {
			return true
		}
	}
	return false
}

// searchDoc states the search policies a client cannot infer from the parameter list.
func searchDoc(reg *search.Registry) string {
	return "Search: dates and dateTimes without a timezone (in resources and in search values) are taken in " +
		reg.Location.String() + ". Strings match case- and accent-insensitively by prefix (accents are folded for Latin, Greek " +
		"and Cyrillic only; Thai, Khmer, Lao and Burmese marks are kept). Tokens are exact and case-sensitive. Paging uses opaque " +
		"_cursor links (keyset; no server-side result cache); _count defaults to 20, at most 1000. _total is given when " +
		"asked for (accurate; estimate is counted accurately) or when the result fits on one page. Unknown parameters are " +
		"ignored and reported in an OperationOutcome entry, or refused with Prefer: handling=strict."
}
