package cli

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/ips"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// DefaultOrganizationName authors the IPS documents of a gateway that
// configured no organization.
const DefaultOrganizationName = "Mekong FHIR gateway"

// summaryFlags configure the IPS documents of Patient/$summary in serve.
func summaryFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "organization-name", Value: DefaultOrganizationName, Sources: ucli.EnvVars("MEKONG_ORGANIZATION_NAME"),
			Usage: "the organization running the gateway: author and custodian of the IPS documents of Patient/$summary"},
		&ucli.StringFlag{Name: "organization-identifier", Sources: ucli.EnvVars("MEKONG_ORGANIZATION_IDENTIFIER"),
			Usage: "that organization's identifier as system|value, e.g. https://terms.sil-th.org/id/th-moph-hcode|10670 (default: none)"},
		&ucli.IntFlag{Name: "summary-max-entries", Value: rest.DefaultSummaryLimit, Sources: ucli.EnvVars("MEKONG_SUMMARY_MAX_ENTRIES"),
			Usage: "most Immunizations, and most Observations, one Patient/$summary document holds (the most recent)"},
	}
}

// summaryOptions reads the flags, refusing what would make unusable documents.
func summaryOptions(cmd *ucli.Command) (rest.IPSOptions, error) {
	o := rest.IPSOptions{
		Author: ips.Organization{Name: strings.TrimSpace(cmd.String("organization-name")), Identifier: strings.TrimSpace(cmd.String("organization-identifier"))},
		Limit:  cmd.Int("summary-max-entries"),
	}
	if o.Author.Name == "" {
		return o, fmt.Errorf("--organization-name must not be empty: it names the author of IPS documents")
	}
	if id := o.Author.Identifier; id != "" {
		if sys, val, ok := strings.Cut(id, "|"); !ok || sys == "" || val == "" {
			return o, fmt.Errorf("--organization-identifier %q is not system|value", id)
		}
	}
	if o.Limit < 1 {
		return o, fmt.Errorf("--summary-max-entries must be at least 1, not %d", o.Limit)
	}
	return o, nil
}
