// Package healthcard issues and verifies SMART Health Cards
// (HL7 smart-health-cards-and-links 1.0.0,
// https://hl7.org/fhir/uv/smart-health-cards-and-links/cards-specification.html):
// the minified FHIR Bundle, the compact ES256 JWS with a raw-DEFLATE
// payload, the shc:/ numeric QR content, issuer keys and their RFC 7638
// thumbprints, revocation ids and Card Revocation Lists. It knows nothing of
// HTTP or SQL: the REST layer gives it resources and keys, and the trust
// package fetches other issuers' keys.
package healthcard
