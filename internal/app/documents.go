package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// Documents are the printable documents of a record, built by other parts
// of the gateway (the SMART Health Card issuer, the IPS $summary). The
// server sets each when its operation is served; the page offers only
// those that are set, so they light up as they land.
type Documents struct {
	// Card issues the person's COVID-19 vaccination card: the SMART Health
	// Card's QR codes as PNG images, for the caller in ctx; since ("" for
	// all) keeps the doses given on or after a FHIR date.
	Card func(ctx context.Context, base, patientID, since string) (*Card, error)
	// Summary returns the person's IPS document Bundle (JSON) for the
	// caller in ctx.
	Summary func(ctx context.Context, base, patientID string) ([]byte, error)
}

// Card is a vaccination card ready to print.
type Card struct {
	// QRs are PNG images of the card's QR codes.
	QRs [][]byte
}

type cardView struct {
	Record
	// QRs are data: URIs of PNG images the server made; html/template
	// passes only URLs marked safe into src.
	QRs []template.URL
	// Partial is the number of latest doses the card holds when all of
	// them do not fit in one QR code (0: all).
	Partial int
}

// card is the COVID-19 vaccination card, laid out for A6 paper (app.css):
// the person, the doses, and the SMART Health Card QR.
func (a *App) card(c echo.Context) error {
	if !a.hasCard() {
		return a.notFound(c)
	}
	lang := langOf(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	base := a.base(c)
	rec, err := a.loadRecord(ctx, c, id)
	if err != nil {
		return a.fail(c, err)
	}
	v := cardView{Record: *rec}
	covid := T(lang, "disease.covid")
	v.Vaccines = v.Vaccines[:0:0]
	var doses []Dose
	for _, g := range rec.Vaccines {
		if g.Name == covid {
			v.Vaccines = append(v.Vaccines, g)
			doses = g.Doses
		}
	}
	// A card is one QR code, never split; when every dose does not fit,
	// the card holds the latest doses that do, and says so.
	card, err := a.cfg.Documents.Card(ctx, base, id, "")
	for n := len(doses) - 1; err != nil && tooLarge(err) && n >= 1; n-- {
		card, err = a.cfg.Documents.Card(ctx, base, id, doses[len(doses)-n].sortKey)
		v.Partial = n
	}
	if err != nil {
		return a.fail(c, err)
	}
	for _, png := range card.QRs {
		v.QRs = append(v.QRs, template.URL("data:image/png;base64,"+base64.StdEncoding.EncodeToString(png))) //nolint:gosec // our own PNG, base64
	}
	return a.render(c, http.StatusOK, "card", T(lang, "docs.card"), v)
}

// summary is the IPS document as a print view: the banner, vaccinations
// and results the document holds, laid out by the page (the document's
// own narrative XHTML is not inserted, so nothing in it can run).
func (a *App) summary(c echo.Context) error {
	if a.cfg.Documents.Summary == nil {
		return a.notFound(c)
	}
	lang := langOf(c)
	ctx := c.Request().Context()
	doc, err := a.cfg.Documents.Summary(ctx, a.base(c), c.Param("id"))
	if err != nil {
		return a.fail(c, err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		return a.fail(c, err)
	}
	var rec Record
	var imms, obs [][]byte
	for _, e := range b.Entry {
		var r struct {
			ResourceType string `json:"resourceType"`
		}
		_ = json.Unmarshal(e.Resource, &r)
		switch r.ResourceType {
		case "Patient":
			rec.Person, _ = personOf(lang, e.Resource, a.now())
		case "Immunization":
			imms = append(imms, e.Resource)
		case "Observation":
			obs = append(obs, e.Resource)
		}
	}
	rec.Vaccines, _ = vaccinations(lang, imms)
	rec.Results, _ = results(lang, obs)
	return a.render(c, http.StatusOK, "summary", T(lang, "docs.ips"), rec)
}

// tooLarge reports the issuer's refusal of a card too long for one QR code.
func tooLarge(err error) bool {
	var oe *outcome.Error
	return errors.As(err, &oe) && oe.Status == http.StatusUnprocessableEntity
}

// loadRecord reads the person's banner and vaccinations (the card's content).
func (a *App) loadRecord(ctx context.Context, c echo.Context, id string) (*Record, error) {
	lang := langOf(c)
	base := a.base(c)
	res, err := a.svc.Read(ctx, restRead(base, id))
	if err != nil {
		return nil, err
	}
	p, err := personOf(lang, res.Body, a.now())
	if err != nil {
		return nil, err
	}
	imms, _, err := a.searchAll(ctx, base, "Immunization", patientQuery(id))
	if err != nil {
		return nil, err
	}
	rec := &Record{Person: p}
	rec.Vaccines, _ = vaccinations(lang, imms)
	return rec, nil
}
