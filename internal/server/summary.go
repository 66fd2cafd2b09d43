package server

import "github.com/labstack/echo/v4"

// summaryOperation is the International Patient Summary
// (http://hl7.org/fhir/uv/ips/STU2/OperationDefinition-summary.html);
// Mekong's OperationDefinition (internal/definitions/operations/Patient-summary.json)
// derives from the IPS one and says what Mekong does with it.
var summaryOperation = operationDef{
	Name:       "summary",
	Definition: opBase + "Patient-summary",
	Doc: "GET|POST Patient/[id]/$summary, or Patient/$summary?identifier=system|value: an IPS 2.0 document Bundle " +
		"(Composition LOINC 60591-5; Immunizations, Results, Vital signs, Social history and Pregnancy sections from the data; " +
		"Problems, Allergies and Medications with emptyReason unavailable) of what the token may see. Needs r on Patient and " +
		"s on the record types; resources the token may not see (HIV/TB labels) leave no trace.",
	Types: []string{"Patient"},
}

func (s *Server) summary(c echo.Context) error { return s.handle(c, s.svc.Summary) }
