package server

import (
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// registry records what the routes serve, so the CapabilityStatement is
// generated from the routes themselves and cannot claim what is not there.
type registry struct {
	typeInteractions   []string // per-type and per-instance interaction codes
	systemInteractions []string
	operations         []operationDef
	// definitional maps the read-only types served from memory
	// (ConceptMap, OperationDefinition, StructureDefinition) to their interaction codes.
	definitional map[string][]string
	// routes maps "METHOD /fhir/path" to what it serves, for the metrics'
	// interaction label (metrics.go).
	routes map[string]routeInfo
}

// routeInfo is the interaction a route serves; typ is set for paths that
// name their type (/Patient/$export, /ConceptMap/:id).
type routeInfo struct{ interaction, operation, typ string }

func (r *registry) note(g *fhirRoutes, method, path string, info routeInfo) {
	if r.routes == nil {
		r.routes = map[string]routeInfo{}
	}
	if seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/"); seg != "" && seg[0] >= 'A' && seg[0] <= 'Z' {
		info.typ = seg
	}
	r.routes[method+" "+g.prefix+path] = info
}

// operationDef describes a $operation for the router and the CapabilityStatement.
type operationDef struct {
	Name       string // without "$"
	Definition string // canonical URL of its OperationDefinition
	Doc        string
	// System puts the operation at the system level of the
	// CapabilityStatement; Types limits it to these resource types. Neither:
	// every type.
	System bool
	Types  []string
}

var validateOperation = operationDef{
	Name:       "validate",
	Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
	Doc:        "Validates a resource (or a Parameters with resource and mode) against FHIR R4 without storing it; answers 200 with an OperationOutcome.",
}

var everythingOperation = operationDef{
	Name:       "everything",
	Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
	Doc: "GET Patient/[id]/$everything: the patient and every resource in its R4 Patient compartment, as a searchset with total, " +
		"paged by next links (_count default 100, at most 1000; no cap on pages; total counted on the first page). " +
		"_since (instant) and _type are applied; start and end are accepted but not applied.",
	Types: []string{"Patient"},
}

func (r *registry) typ(g *fhirRoutes, method, path, code string, h echo.HandlerFunc) {
	r.typeInteractions = append(r.typeInteractions, code)
	r.note(g, method, path, routeInfo{interaction: code})
	g.Add(method, path, h)
}

func (r *registry) instance(g *fhirRoutes, method, path, code string, h echo.HandlerFunc) {
	r.typeInteractions = append(r.typeInteractions, code)
	r.note(g, method, path, routeInfo{interaction: code})
	g.Add(method, path, h)
}

// system registers a system-level route; one route may serve several
// interactions (POST [base] is both transaction and batch).
func (r *registry) system(g *fhirRoutes, method, path, code string, h echo.HandlerFunc, more ...string) {
	r.systemInteractions = append(r.systemInteractions, code)
	r.systemInteractions = append(r.systemInteractions, more...)
	r.note(g, method, path, routeInfo{interaction: code})
	g.Add(method, path, h)
}

func (r *registry) operation(g *fhirRoutes, method, path string, op operationDef, h echo.HandlerFunc) {
	r.operations = append(r.operations, op)
	r.note(g, method, path, routeInfo{interaction: "operation", operation: op.Name})
	g.Add(method, path, h)
}

// definitionalType registers a route of a read-only type served from memory.
func (r *registry) definitionalType(g *fhirRoutes, typ, method, path, code string, h echo.HandlerFunc) {
	if r.definitional == nil {
		r.definitional = map[string][]string{}
	}
	r.definitional[typ] = append(r.definitional[typ], code)
	r.note(g, method, path, routeInfo{interaction: code})
	g.Add(method, path, h)
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
