package search

// customDefinitions are Mekong's own search parameters, defined where R4
// defines none for what users ask.
var customDefinitions = []definition{
	{
		// R4 has no purpose-of-use search on AuditEvent; R5's "purpose"
		// searches AuditEvent.authorization and agent.authorization, which
		// are R4's purposeOfEvent and agent.purposeOfUse.
		URL:         "https://mekong-fhir.github.io/fhir/SearchParameter/AuditEvent-purpose",
		Code:        "purpose",
		Base:        []string{"AuditEvent"},
		Type:        TypeToken,
		Expression:  "AuditEvent.purposeOfEvent | AuditEvent.agent.purposeOfUse",
		Description: "The purpose of the event or the purpose of use of an agent (R5's AuditEvent purpose), e.g. ETREAT for break-the-glass",
	},
}

func init() { definitions = append(definitions, customDefinitions...) }
