package cli

import (
	"context"
	"errors"
	"fmt"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/backend"
)

func auditCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "audit",
		Usage: "check the audit log",
		Commands: []*ucli.Command{{
			Name:  "verify",
			Usage: "recompute every hash chain of the audit log and name the first broken link of each broken chain",
			Description: "Each audit log row carries SHA-256(previous row's hash || its own content). A row edited in the\n" +
				"database no longer matches its hash; a deleted row leaves a gap in its chain's numbering. The exit\n" +
				"status is 1 when any chain is broken. --heads prints the last row of every chain, to compare with\n" +
				"the heads the gateway logs (\"audit chain heads\"): only that shows a chain's tail cut off or rewritten.",
			Flags: append([]ucli.Flag{dbFlag(),
				&ucli.BoolFlag{Name: "heads", Usage: "print every chain's last row (chain, row number, hash)"},
			}, logFlags()...),
			Action: runAuditVerify,
		}},
	}
}

var errBrokenChain = errors.New("audit verify: the audit log has broken chains")

func runAuditVerify(ctx context.Context, cmd *ucli.Command) error {
	db, _, err := backend.OpenMigrated(ctx, cmd.String("db"))
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer db.Close()
	v, err := db.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	out := cmd.Root().Writer
	if cmd.Bool("heads") {
		for _, h := range v.Heads {
			fmt.Fprintln(out, "head:", h)
		}
	}
	for _, b := range v.Broken {
		fmt.Fprintln(out, "BROKEN:", b)
	}
	if len(v.Broken) > 0 {
		fmt.Fprintf(out, "audit log: %d rows in %d chains; %d chains broken\n", v.Rows, v.Chains, len(v.Broken))
		return errBrokenChain
	}
	fmt.Fprintf(out, "audit log: %d rows in %d chains; every link verified\n", v.Rows, v.Chains)
	return nil
}
