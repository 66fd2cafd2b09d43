// Package definitions serves Mekong's definitional resources from memory,
// read-only: the ConceptMaps of the source-system crosswalks
// (mappings/terminology) with ConceptMap/$translate, the profiles
// (conformance/profiles) and the definitions of Mekong's own extensions
// (extensions/*.json) as StructureDefinitions, and the
// OperationDefinitions of Mekong's own operations (operations/*.json). They ship with the binary
// and change only with it, so they are not in the database and no client can
// write them. The interactions have the shape of package rest's.
package definitions

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/mekong-fhir/mekong/conformance/profiles"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// The types served.
const (
	ConceptMap          = "ConceptMap"
	StructureDefinition = "StructureDefinition"
	OperationDefinition = "OperationDefinition"
)

//go:embed operations/*.json
var operations embed.FS

// extensions define the extensions Mekong writes on the resources it serves.
//
//go:embed extensions/*.json
var extensions embed.FS

// Catalog holds the resources, indexed for search.
type Catalog struct {
	term  *terminology.Terminology
	byTyp map[string][]*entry // ordered by id
}

// entry is one resource with the values its search parameters match.
type entry struct {
	id   string
	body []byte
	// values: search parameter code → the resource's values for it.
	values map[string][]string
}

// New indexes the ConceptMaps of term and Mekong's StructureDefinitions.
func New(term *terminology.Terminology) (*Catalog, error) {
	c := &Catalog{term: term, byTyp: map[string][]*entry{}}
	for _, b := range term.ConceptMaps() {
		e, err := conceptMapEntry(b)
		if err != nil {
			return nil, fmt.Errorf("definitions.New: %w", err)
		}
		c.byTyp[ConceptMap] = append(c.byTyp[ConceptMap], e)
	}
	for _, b := range profiles.All() {
		e, err := structureDefinitionEntry(b)
		if err != nil {
			return nil, fmt.Errorf("definitions.New: %w", err)
		}
		c.byTyp[StructureDefinition] = append(c.byTyp[StructureDefinition], e)
	}
	for _, d := range []struct {
		files embed.FS
		dir   string
		typ   string
		entry func([]byte) (*entry, error)
	}{
		{extensions, "extensions", StructureDefinition, structureDefinitionEntry},
		{operations, "operations", OperationDefinition, operationDefinitionEntry},
	} {
		names, _ := d.files.ReadDir(d.dir)
		for _, n := range names {
			b, err := d.files.ReadFile(d.dir + "/" + n.Name())
			if err != nil {
				return nil, fmt.Errorf("definitions.New: %w", err)
			}
			e, err := d.entry(b)
			if err != nil {
				return nil, fmt.Errorf("definitions.New: %s: %w", n.Name(), err)
			}
			c.byTyp[d.typ] = append(c.byTyp[d.typ], e)
		}
	}
	for _, es := range c.byTyp {
		sort.Slice(es, func(i, j int) bool { return es[i].id < es[j].id })
	}
	return c, nil
}

// Types lists the types served, sorted.
func (c *Catalog) Types() []string {
	return []string{ConceptMap, OperationDefinition, StructureDefinition}
}

// common are the values of the parameters both types have.
type common struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	URL          string `json:"url"`
	Version      string `json:"version"`
	Name         string `json:"name"`
	Title        string `json:"title"`
	Status       string `json:"status"`
	Publisher    string `json:"publisher"`
	Date         string `json:"date"`
}

func (cm common) values() map[string][]string {
	v := map[string][]string{}
	add := func(k, s string) {
		if s != "" {
			v[k] = append(v[k], s)
		}
	}
	add("_id", cm.ID)
	add("url", cm.URL)
	add("version", cm.Version)
	add("name", cm.Name)
	add("title", cm.Title)
	add("status", cm.Status)
	add("publisher", cm.Publisher)
	return v
}

func conceptMapEntry(raw []byte) (*entry, error) {
	var cm struct {
		common
		SourceURI       string `json:"sourceUri"`
		SourceCanonical string `json:"sourceCanonical"`
		TargetURI       string `json:"targetUri"`
		TargetCanonical string `json:"targetCanonical"`
		Group           []struct {
			Source  string `json:"source"`
			Target  string `json:"target"`
			Element []struct {
				Code   string `json:"code"`
				Target []struct {
					Code string `json:"code"`
				} `json:"target"`
			} `json:"element"`
		} `json:"group"`
	}
	body, err := compact(raw, &cm)
	if err != nil || cm.ResourceType != ConceptMap || cm.ID == "" {
		return nil, fmt.Errorf("a ConceptMap without an id (%v)", err)
	}
	v := cm.values()
	for k, s := range map[string]string{"source": cm.SourceCanonical, "source-uri": cm.SourceURI, "target": cm.TargetCanonical, "target-uri": cm.TargetURI} {
		if s != "" {
			v[k] = append(v[k], s)
		}
	}
	for _, g := range cm.Group {
		v["source-system"] = appendNew(v["source-system"], g.Source)
		v["target-system"] = appendNew(v["target-system"], g.Target)
		for _, el := range g.Element {
			v["source-code"] = appendNew(v["source-code"], el.Code)
			for _, t := range el.Target {
				v["target-code"] = appendNew(v["target-code"], t.Code)
			}
		}
	}
	return &entry{id: cm.ID, body: body, values: v}, nil
}

func structureDefinitionEntry(raw []byte) (*entry, error) {
	var sd struct {
		common
		Kind           string `json:"kind"`
		Type           string `json:"type"`
		BaseDefinition string `json:"baseDefinition"`
		Derivation     string `json:"derivation"`
		Abstract       *bool  `json:"abstract"`
	}
	body, err := compact(raw, &sd)
	if err != nil || sd.ResourceType != StructureDefinition || sd.ID == "" {
		return nil, fmt.Errorf("a StructureDefinition without an id (%v)", err)
	}
	v := sd.values()
	for k, s := range map[string]string{"kind": sd.Kind, "type": sd.Type, "base": sd.BaseDefinition, "derivation": sd.Derivation} {
		if s != "" {
			v[k] = []string{s}
		}
	}
	if sd.Abstract != nil {
		v["abstract"] = []string{fmt.Sprint(*sd.Abstract)}
	}
	return &entry{id: sd.ID, body: body, values: v}, nil
}

func operationDefinitionEntry(raw []byte) (*entry, error) {
	var od struct {
		common
		Code     string `json:"code"`
		Kind     string `json:"kind"`
		System   bool   `json:"system"`
		Type     bool   `json:"type"`
		Instance bool   `json:"instance"`
	}
	body, err := compact(raw, &od)
	if err != nil || od.ResourceType != OperationDefinition || od.ID == "" {
		return nil, fmt.Errorf("an OperationDefinition without an id (%v)", err)
	}
	v := od.values()
	v["code"], v["kind"] = []string{od.Code}, []string{od.Kind}
	v["system"], v["type"], v["instance"] = []string{fmt.Sprint(od.System)}, []string{fmt.Sprint(od.Type)}, []string{fmt.Sprint(od.Instance)}
	return &entry{id: od.ID, body: body, values: v}, nil
}

func compact(raw []byte, v any) ([]byte, error) {
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func appendNew(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func (c *Catalog) find(typ, id string) (*entry, error) {
	es, ok := c.byTyp[typ]
	if !ok {
		return nil, outcome.NotFound("resource type %q is not served here", typ)
	}
	for _, e := range es {
		if e.id == id {
			return e, nil
		}
	}
	return nil, outcome.NotFound("%s/%s is not known", typ, id)
}

// Read: https://hl7.org/fhir/R4/http.html#read. r.Type names the type.
func (c *Catalog) Read(_ context.Context, r rest.Request) (*rest.Response, error) {
	e, err := c.find(r.Type, r.ID)
	if err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusOK, Body: e.body}, nil
}

// ReadOnly answers every write to these types: 405, as they change only
// with the server's release.
func ReadOnly(typ string) error {
	return outcome.NotSupported(http.StatusMethodNotAllowed,
		"%s resources are read-only here: they ship with the server; read and search are served", typ)
}
