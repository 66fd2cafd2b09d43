package cli

import (
	ucli "github.com/urfave/cli/v3"
)

// integrityFlag switches referential integrity (README "Behaviour worth
// knowing"): on, a write whose local reference names no resource is 422,
// and an import reports its dangling references at the end. Off is for
// loads whose references are completed later from another source.
func integrityFlag() *ucli.BoolFlag {
	return &ucli.BoolFlag{Name: "referential-integrity", Value: true, Sources: ucli.EnvVars("MEKONG_REFERENTIAL_INTEGRITY"),
		Usage: "refuse writes whose local references (Patient/id, ...) name no resource, and report an import's dangling references; --referential-integrity=false turns this off"}
}
