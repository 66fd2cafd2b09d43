// Command mekong is the Mekong FHIR R4 gateway: `mekong serve` serves the API
// at http://ADDR/fhir; `mekong help` lists the other commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mekong-fhir/mekong/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := cli.Run(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "mekong:", err)
		stop()
		os.Exit(1)
	}
}
