package bulk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// maxDangling bounds the dangling references an import reports one by one.
const maxDangling = 1000

// Dangling checks referential integrity at the end of an import (README
// "Behaviour worth knowing"): a load's order cannot be relied on, so its
// lines are not checked one by one as API writes are. Every local
// reference to a served type, of the resources written since the import
// began, must name a live resource. What does not is returned as
// OperationOutcome error lines (the resources stay stored); none when the
// service's ReferentialIntegrity is off or the store cannot check.
func (im *Importer) Dangling(ctx context.Context, since time.Time) ([][]byte, error) {
	chk, ok := im.Store.(store.Integrity)
	if !ok || !im.Svc.ReferentialIntegrity {
		return nil, nil
	}
	types := im.Svc.DataTypes()
	found, err := chk.DanglingReferences(ctx, types, im.Svc.Types(), since, maxDangling+1)
	if err != nil {
		return nil, fmt.Errorf("bulk.Dangling: %w", err)
	}
	var lines [][]byte
	for i, d := range found {
		if i == maxDangling {
			lines = append(lines, outcome.JSON([]outcome.Issue{{Severity: outcome.SevError, Code: outcome.CodeNotFound,
				Diagnostics: fmt.Sprintf("more than %d dangling references; the first %d are listed", maxDangling, maxDangling)}}))
			break
		}
		elem := im.element(d.Type, d.Param)
		lines = append(lines, outcome.JSON([]outcome.Issue{{Severity: outcome.SevError, Code: outcome.CodeNotFound,
			Diagnostics: fmt.Sprintf("%s/%s: %s refers to %s/%s, which does not exist after the import (referential integrity; the resource is stored)",
				d.Type, d.ID, elem, d.TargetType, d.TargetID),
			Expression: []string{elem}}}))
	}
	return lines, nil
}

// element is the element a reference parameter indexes: "Observation.subject"
// from "Observation.subject.where(resolve() is Patient)".
func (im *Importer) element(typ, param string) string {
	p, ok := im.Svc.Registry().Lookup(typ, param)
	if !ok {
		return typ + "." + param
	}
	for _, part := range strings.Split(p.Expression, "|") {
		part = strings.Trim(strings.TrimSpace(part), "()")
		if !strings.HasPrefix(part, typ+".") {
			continue
		}
		if i := strings.Index(part, ".where("); i >= 0 {
			part = part[:i]
		}
		if i := strings.Index(part, " as "); i >= 0 {
			part = part[:i]
		}
		return part
	}
	return typ + "." + param
}
