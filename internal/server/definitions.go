package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/internal/definitions"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

var translateOperation = operationDef{
	Name:       "translate",
	Definition: "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
	Doc: "GET or POST, at ConceptMap/$translate or ConceptMap/[id]/$translate: url, system, code, coding, codeableConcept, " +
		"targetsystem, reverse. source and target (value sets) are accepted and do not narrow the maps; conceptMap and dependency are refused.",
	Types: []string{definitions.ConceptMap},
}

func mustCatalog() *definitions.Catalog {
	c, err := definitions.New(terminology.Default())
	if err != nil {
		panic(err) // the resources are embedded at build time and tested
	}
	return c
}

// definitionRoutes serves read and search of a read-only type; every write
// is 405 rather than falling through to the stored types' routes.
func (s *Server) definitionRoutes(f *fhirRoutes, typ string) {
	on := func(fn interaction) echo.HandlerFunc {
		return func(c echo.Context) error {
			return s.handle(c, func(ctx context.Context, r rest.Request) (*rest.Response, error) {
				r.Type = typ
				return fn(ctx, r)
			})
		}
	}
	s.reg.definitionalType(f, typ, "GET", "/"+typ, "search-type", on(s.defs.Search))
	s.reg.definitionalType(f, typ, "POST", "/"+typ+"/_search", "search-type", on(s.defs.Search))
	s.reg.definitionalType(f, typ, "GET", "/"+typ+"/:id", "read", on(s.defs.Read))
	readOnly := func(echo.Context) error { return definitions.ReadOnly(typ) }
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		f.Add(m, "/"+typ, readOnly)
		f.Add(m, "/"+typ+"/:id", readOnly)
	}
}

func (s *Server) translate(c echo.Context) error { return s.handle(c, s.defs.Translate) }

// definitionalResources describes the read-only types for the CapabilityStatement.
func (s *Server) definitionalResources() []capResource {
	var out []capResource
	for _, t := range s.defs.Types() {
		res := capResource{Type: t, Versioning: "no-version", ConditionalRead: "not-supported", ConditionalDelete: "not-supported",
			Operation: s.reg.operationsFor(t)}
		for _, code := range sortedUnique(s.reg.definitional[t]) {
			res.Interaction = append(res.Interaction, capInteraction{Code: code,
				Documentation: "Read-only: served from memory, shipped with the server; writes are 405."})
		}
		for _, p := range definitions.SearchParams(t) {
			res.SearchParam = append(res.SearchParam, capSearchParam{Name: p[0], Type: p[1]})
		}
		out = append(out, res)
	}
	return out
}

// systemLevel selects the operations on [base] in operationsFor.
const systemLevel = "[base]"

// operationsFor lists, once each, the operations of a type (typ), of every
// stored type ("") or of the whole server (systemLevel).
func (r *registry) operationsFor(typ string) []capOperation {
	var out []capOperation
	seen := map[string]bool{}
	for _, op := range r.operations {
		var applies bool
		switch {
		case op.System:
			applies = typ == systemLevel
		case len(op.Types) == 0:
			applies = typ == ""
		default:
			for _, t := range op.Types {
				applies = applies || t == typ
			}
		}
		if applies && !seen[op.Name] {
			seen[op.Name] = true
			out = append(out, capOperation{Name: op.Name, Definition: op.Definition, Documentation: op.Doc})
		}
	}
	return out
}
