package server

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/resource"
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
		Mode        string           `json:"mode"`
		Resource    []capResource    `json:"resource"`
		Interaction []capInteraction `json:"interaction,omitempty"`
	}
	capResource struct {
		Type              string           `json:"type"`
		Interaction       []capInteraction `json:"interaction"`
		Versioning        string           `json:"versioning"`
		ReadHistory       bool             `json:"readHistory"`
		UpdateCreate      bool             `json:"updateCreate"`
		ConditionalCreate bool             `json:"conditionalCreate"`
		ConditionalRead   string           `json:"conditionalRead"`
		ConditionalUpdate bool             `json:"conditionalUpdate"`
		ConditionalDelete string           `json:"conditionalDelete"`
		Operation         []capOperation   `json:"operation,omitempty"`
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
	"create":           "Server-assigned id; If-None-Exist with identifier=system|value and/or _id is atomic.",
	"update":           "Update as create with a client id; If-Match W/\"n\" and If-None-Match: * honoured.",
	"delete":           "Logical delete; a later read is 410 Gone. Deleting what does not exist succeeds.",
	"history-instance": "Newest first; _count (max 1000), _since, opaque next links.",
	"history-type":     "Newest first; _count (max 1000), _since, opaque next links.",
	"history-system":   "Newest first; _count (max 1000), _since, opaque next links.",
}

// capabilityStatement builds the statement from the registry.
func (s *Server) capabilityStatement(base string) []byte {
	var ops []capOperation
	for _, op := range s.reg.operations {
		ops = append(ops, capOperation{Name: op.Name, Definition: op.Definition, Documentation: op.Doc})
	}
	var interactions []capInteraction
	for _, code := range sortedUnique(s.reg.typeInteractions) {
		interactions = append(interactions, capInteraction{Code: code, Documentation: interactionDocs[code]})
	}
	has := map[string]bool{}
	for _, code := range s.reg.typeInteractions {
		has[code] = true
	}
	rest := capRest{Mode: "server"}
	for _, t := range s.svc.Types() {
		rest.Resource = append(rest.Resource, capResource{
			Type: t, Interaction: interactions,
			Versioning:        "versioned-update",
			ReadHistory:       has["vread"],
			UpdateCreate:      has["update"],
			ConditionalCreate: has["create"],
			ConditionalRead:   "not-supported",
			ConditionalDelete: "not-supported",
			Operation:         ops,
		})
	}
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
	b, err := json.Marshal(cs)
	if err != nil {
		panic(err) // plain structs
	}
	return b
}

func (s *Server) metadata(c echo.Context) error {
	return writeJSON(c, http.StatusOK, s.capabilityStatement(s.baseURL(c)))
}
