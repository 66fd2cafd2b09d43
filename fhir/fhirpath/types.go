package fhirpath

import (
	"fmt"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirpath/internal/model"
)

// typeSpec is a resolved type specifier: a FHIR type, matched with its
// subtypes (Age is a Quantity), or a FHIRPath System type, matched by the
// FHIR primitives that map to it.
type typeSpec struct {
	fhir   string
	system string
}

// systemTypes maps FHIR primitive types to the FHIRPath System type their
// values have (the FHIR type system of http://hl7.org/fhir/R4/fhirpath.html
// rests on the System types of N1 §10). The R4 search parameter
// Observation-code-value-date relies on it: its component value.as(DateTime)
// must select valueDateTime; fhirpath.js's ofType() agrees.
var systemTypes = map[string]string{
	"boolean":      "Boolean",
	"string":       "String",
	"code":         "String",
	"id":           "String",
	"markdown":     "String",
	"uri":          "String",
	"url":          "String",
	"canonical":    "String",
	"oid":          "String",
	"uuid":         "String",
	"base64Binary": "String",
	"integer":      "Integer",
	"positiveInt":  "Integer",
	"unsignedInt":  "Integer",
	"decimal":      "Decimal",
	"date":         "Date",
	"dateTime":     "DateTime",
	"instant":      "DateTime",
	"time":         "Time",
}

var systemNames = map[string]bool{
	"Boolean": true, "String": true, "Integer": true, "Decimal": true,
	"Date": true, "DateTime": true, "Time": true, "Quantity": true,
}

// resolveType resolves a type name as N1 §10 (Types and Reflection) does: qualified names in
// their namespace; an unqualified name in the FHIR model first, then in
// System. It returns a message for an unknown type.
func resolveType(name string) (*typeSpec, string) {
	ns, local, qualified := strings.Cut(name, ".")
	if !qualified {
		ns, local = "", name
	}
	if ns != "System" && model.Lookup(local) != nil {
		return &typeSpec{fhir: local}, ""
	}
	if ns != "FHIR" && systemNames[local] {
		return &typeSpec{system: local}, ""
	}
	return nil, fmt.Sprintf("unknown type %q", name)
}

func (t *typeSpec) matches(n Node) bool {
	if t.fhir != "" {
		return model.IsA(n.Type, t.fhir)
	}
	if t.system == "Quantity" {
		return model.IsA(n.Type, "Quantity")
	}
	return systemTypes[n.Type] == t.system
}

// ofType keeps the items of type t (N1 §5.2 ofType). The as operator and
// function use it too: N1 makes as an error on more than one item, but the
// R4 search parameters apply it to collections, as in
// (Observation.component.value as Quantity), meaning ofType (which is what
// R5 rewrote them to).
func ofType(in []Node, t *typeSpec) []Node {
	return keep(in, t.matches)
}

// isType is the is operator and function (N1 §6.3): empty for an empty
// input, an error for more than one item.
func isType(in []Node, t *typeSpec) ([]Node, error) {
	switch len(in) {
	case 0:
		return nil, nil
	case 1:
		return boolean(t.matches(in[0])), nil
	}
	return nil, fmt.Errorf("is: expected one item, got %d", len(in))
}
