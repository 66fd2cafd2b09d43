package fhirpath

import (
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirpath/internal/model"
)

// resolve is the FHIR function resolve() (R4 fhirpath.html "Additional functions") without a
// server behind it: search extraction only asks what type a reference
// points to, as in subject.where(resolve() is Patient), so a Reference
// resolves to a stand-in {"resourceType": T, "id": id} typed T. T comes
// from the reference (Patient/1, http://x/fhir/Patient/1/_history/2) or,
// failing that, from Reference.type. A local reference (#p1) resolves to
// the contained resource itself. Anything else yields nothing.
func resolve(c *evalCtx, in []Node) []Node {
	var out []Node
	for _, n := range in {
		obj, ok := n.Value.(map[string]any)
		if !ok || !model.IsA(n.Type, "Reference") {
			continue
		}
		ref, _ := obj["reference"].(string)
		if id, ok := strings.CutPrefix(ref, "#"); ok {
			if r, ok := contained(c.root, id); ok {
				out = append(out, r)
			}
			continue
		}
		typ, id := parseReference(ref)
		if typ == "" {
			t, _ := obj["type"].(string)
			typ = strings.TrimPrefix(t, "http://hl7.org/fhir/StructureDefinition/")
			if !concreteResource(typ) {
				continue
			}
		}
		stub := map[string]any{"resourceType": typ}
		if id != "" {
			stub["id"] = id
		}
		out = append(out, Node{Type: typ, Value: stub})
	}
	return out
}

// parseReference returns the resource type and id of a literal reference,
// relative or absolute, with or without a version; "" if it has none.
func parseReference(ref string) (typ, id string) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, '/')
	if i <= 0 || i == len(ref)-1 {
		return "", ""
	}
	typ, id = ref[:i], ref[i+1:]
	typ = typ[strings.LastIndexByte(typ, '/')+1:]
	if !concreteResource(typ) {
		return "", ""
	}
	return typ, id
}

func concreteResource(typ string) bool {
	return model.IsResource(typ) && typ != "Resource" && typ != "DomainResource"
}

// contained finds the contained resource with the given id; "#" alone
// refers to the containing resource.
func contained(root Node, id string) (Node, bool) {
	if id == "" {
		return root, true
	}
	obj, _ := root.Value.(map[string]any)
	list, _ := obj["contained"].([]any)
	for _, v := range list {
		r, ok := v.(map[string]any)
		if !ok || r["id"] != id {
			continue
		}
		if rt, ok := r["resourceType"].(string); ok {
			return Node{Type: rt, Value: r}, true
		}
	}
	return Node{}, false
}
