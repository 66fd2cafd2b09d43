package cli

import (
	"log/slog"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
)

// bulkFlags configure $import and $export in serve.
func bulkFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.DurationFlag{Name: "bulk-retention", Value: time.Hour, Sources: ucli.EnvVars("MEKONG_BULK_RETENTION"),
			Usage: "how long finished $export/$import jobs and their files are kept"},
		&ucli.StringSliceFlag{Name: "import-url-prefix", Sources: ucli.EnvVars("MEKONG_IMPORT_URL_PREFIX"),
			Usage: "URL prefix $import may fetch inputs from (repeat or comma-separate); none: URL inputs are refused, since fetching any URL a client names reaches internal hosts (SSRF)"},
		&ucli.Int64Flag{Name: "max-import-body", Value: server.DefaultMaxImportBody, Sources: ucli.EnvVars("MEKONG_MAX_IMPORT_BODY"),
			Usage: "largest $import NDJSON upload in bytes"},
		&ucli.Int64Flag{Name: "max-import-uncompressed", Value: bulk.DefaultMaxUncompressed, Sources: ucli.EnvVars("MEKONG_MAX_IMPORT_UNCOMPRESSED"),
			Usage: "most bytes one gzip $import input may expand to; the rest of a larger one is reported, not read"},
	}
}

func newBulkService(cmd *ucli.Command, db bulk.JobStore, svc *rest.Service, log *slog.Logger, obs bulk.Observer) *bulk.Service {
	var prefixes []string
	for _, p := range cmd.StringSlice("import-url-prefix") {
		for _, q := range strings.Split(p, ",") {
			if q = strings.TrimSpace(q); q != "" {
				prefixes = append(prefixes, q)
			}
		}
	}
	return bulk.New(bulk.Config{Retention: cmd.Duration("bulk-retention"), ImportURLPrefixes: prefixes,
		MaxUncompressed: cmd.Int64("max-import-uncompressed"), Observer: obs}, db, svc, log)
}
