package bulk

import (
	"context"
	"encoding/json"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// A job belongs to the client that kicked it off
// (https://hl7.org/fhir/uv/bulkdata/export.html#file-request: the files
// are for the client that asked for them): its status, its files and its
// cancellation answer that client only, as 404 to any other, so a job id
// reveals nothing. Jobs started without authentication (--auth none, the
// command line) have no owner.

// clientOf names the authenticated client of ctx: issuer and client_id.
func clientOf(ctx context.Context) string {
	p := auth.FromContext(ctx)
	if p == nil || p.Unauthenticated {
		return ""
	}
	return p.Issuer + " " + p.ClientID
}

// owned reads job id and checks it belongs to the caller in ctx.
func (s *Service) owned(ctx context.Context, id string) (*store.Job, error) {
	j, err := s.st.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	var p struct {
		Client string `json:"client"`
	}
	_ = json.Unmarshal(j.Params, &p)
	if p.Client != "" && p.Client != clientOf(ctx) {
		return nil, outcome.NotFound("bulk job %q is not known", id)
	}
	return j, nil
}
