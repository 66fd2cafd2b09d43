// Command gen writes the FHIR R4 type model that the FHIRPath evaluator
// navigates with (fhir/fhirpath/internal/model/model_gen.go), from the
// official StructureDefinitions of the hl7.fhir.r4.examples package.
//
// The JSON of a resource does not say what type an element has, but search
// extraction must know whether Observation.effective is a Period or a
// dateTime, so the evaluator needs element types; deriving them from the
// specification's own snapshots keeps them exact and reproducible.
//
// Usage (from fhir/fhirpath/internal/model, as go:generate runs it):
//
//	go run ../gen -dir ../../../../.cache/r4-examples/package -out model_gen.go
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// defaultResources are the resource types Mekong stores (the clinical ones
// and the server-written Provenance and AuditEvent); their elements are
// modelled in full, other resource types only by name and base.
const defaultResources = "AuditEvent,Immunization,Observation,Patient,Provenance"

func main() {
	dir := flag.String("dir", "../../../../.cache/r4-examples/package", "directory with the StructureDefinition-*.json files")
	out := flag.String("out", "model_gen.go", "file to write")
	resources := flag.String("resources", defaultResources, "comma-separated resource types whose elements are modelled")
	flag.Parse()
	src, err := generate(*dir, strings.Split(*resources, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type structureDefinition struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Type           string `json:"type"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []elementDefinition `json:"element"`
	} `json:"snapshot"`
}

type elementDefinition struct {
	Path             string `json:"path"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	Type             []struct {
		Code      string `json:"code"`
		Extension []struct {
			URL      string `json:"url"`
			ValueURL string `json:"valueUrl"`
		} `json:"extension"`
	} `json:"type"`
}

// typeRow is one line of the generated table.
type typeRow struct {
	name, base, kind string
	elements         []string // "name[x] type1 type2", "name type" or "name* type" (repeating)
}

const fhirTypeExt = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"

// generate reads every base (non-profile) StructureDefinition in dir and
// returns the gofmt-ed source of model_gen.go.
func generate(dir string, resources []string) ([]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "StructureDefinition-*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no StructureDefinition-*.json in %s (run make conformance-data)", dir)
	}
	var rows []typeRow
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var sd structureDefinition
		if err := json.Unmarshal(data, &sd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		// Profiles (constraints) such as SimpleQuantity or vitalsigns add no
		// types of their own, and logical models are never instance data.
		if sd.Derivation == "constraint" || sd.Kind == "logical" {
			continue
		}
		if sd.Type != sd.ID {
			return nil, fmt.Errorf("%s: type %q differs from id %q", f, sd.Type, sd.ID)
		}
		base := strings.TrimPrefix(sd.BaseDefinition, "http://hl7.org/fhir/StructureDefinition/")
		var kind string
		full := true
		switch sd.Kind {
		case "primitive-type":
			kind, full = "Primitive", false // the value is the JSON scalar itself
		case "complex-type":
			kind = "Complex"
		case "resource":
			kind = "Resource"
			full = sd.Type == "Resource" || sd.Type == "DomainResource" || slices.Contains(resources, sd.Type)
		default:
			return nil, fmt.Errorf("%s: unexpected kind %q", f, sd.Kind)
		}
		if seen[sd.Type] {
			return nil, fmt.Errorf("%s: type %s defined twice", f, sd.Type)
		}
		seen[sd.Type] = true
		if !full {
			rows = append(rows, typeRow{name: sd.Type, base: base, kind: kind})
			continue
		}
		r, err := typeRows(sd, base, kind)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		rows = append(rows, r...)
	}
	for _, r := range resources {
		if !seen[r] {
			return nil, fmt.Errorf("resource type %q has no StructureDefinition in %s", r, dir)
		}
	}
	slices.SortFunc(rows, func(a, b typeRow) int { return strings.Compare(a.name, b.name) })
	return render(rows)
}

// typeRows turns one snapshot into the row of its type plus one row per
// inline (backbone) element, named by its path as fhirpath.js does, so
// Observation.component has the type "Observation.component".
func typeRows(sd structureDefinition, base, kind string) ([]typeRow, error) {
	elems := sd.Snapshot.Element
	hasChildren := map[string]bool{}
	for _, e := range elems {
		if i := strings.LastIndexByte(e.Path, '.'); i > 0 {
			hasChildren[e.Path[:i]] = true
		}
	}
	rows := map[string]*typeRow{sd.Type: {name: sd.Type, base: base, kind: kind}}
	order := []string{sd.Type}
	for _, e := range elems[1:] {
		i := strings.LastIndexByte(e.Path, '.')
		if i < 0 {
			return nil, fmt.Errorf("element %q outside the type", e.Path)
		}
		parent, name := e.Path[:i], e.Path[i+1:]
		row := rows[parent]
		if row == nil {
			return nil, fmt.Errorf("element %q: parent %q not seen before", e.Path, parent)
		}
		var types []string
		switch {
		case e.ContentReference != "":
			types = []string{strings.TrimPrefix(e.ContentReference, "#")}
		case hasChildren[e.Path]:
			if len(e.Type) != 1 {
				return nil, fmt.Errorf("element %q: backbone with %d types", e.Path, len(e.Type))
			}
			types = []string{e.Path}
			rows[e.Path] = &typeRow{name: e.Path, base: e.Type[0].Code, kind: "Backbone"}
			order = append(order, e.Path)
		default:
			for _, t := range e.Type {
				code := t.Code
				// Since R4, id and url of elements are typed by FHIRPath system
				// types; the extension names the FHIR type they stand for.
				if strings.HasPrefix(code, "http://hl7.org/fhirpath/") {
					code = ""
					for _, x := range t.Extension {
						if x.URL == fhirTypeExt {
							code = x.ValueURL
						}
					}
					if code == "" {
						return nil, fmt.Errorf("element %q: system type %s without FHIR type", e.Path, t.Code)
					}
				}
				types = append(types, code)
			}
		}
		if len(types) == 0 {
			return nil, fmt.Errorf("element %q has no type", e.Path)
		}
		if len(types) > 1 && !strings.HasSuffix(name, "[x]") {
			return nil, fmt.Errorf("element %q has %d types but is not a choice", e.Path, len(types))
		}
		// A repeating element is marked "name*": its JSON is always an array,
		// which a patch must know when it adds the first item.
		if e.Max != "0" && e.Max != "1" {
			name += "*"
		}
		row.elements = append(row.elements, name+" "+strings.Join(types, " "))
	}
	out := make([]typeRow, 0, len(order))
	for _, n := range order {
		out = append(out, *rows[n])
	}
	return out, nil
}

func render(rows []typeRow) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by fhir/fhirpath/internal/gen from the FHIR R4 StructureDefinitions; DO NOT EDIT.\n\n")
	b.WriteString("package model\n\n")
	b.WriteString("// table lists every R4 type: its base, its kind and, for the modelled ones,\n")
	b.WriteString("// its elements as \"name type\" (\"name* type\" when it repeats) or, for a\n")
	b.WriteString("// choice, \"name[x] type type ...\".\n")
	b.WriteString("var table = []row{\n")
	for _, r := range rows {
		if len(r.elements) == 0 {
			fmt.Fprintf(&b, "\t{%q, %q, %s, nil},\n", r.name, r.base, r.kind)
			continue
		}
		fmt.Fprintf(&b, "\t{%q, %q, %s, []string{\n", r.name, r.base, r.kind)
		for _, e := range r.elements {
			fmt.Fprintf(&b, "\t\t%q,\n", e)
		}
		b.WriteString("\t}},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
