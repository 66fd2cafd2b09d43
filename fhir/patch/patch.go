// Package patch applies the two patch formats of the FHIR R4 patch
// interaction (https://hl7.org/fhir/R4/http.html#patch) to a resource's
// JSON: JSON Patch (RFC 6902, application/json-patch+json) and FHIRPath
// Patch (https://hl7.org/fhir/R4/fhirpatch.html, a Parameters resource).
//
// Both return the patched JSON with the resource's member order kept and
// changed members in place, so a patched resource reads like the one it came
// from. They do not validate the result: the caller sends it through the
// same validation as any write. Errors are *outcome.Error: 400 for a patch
// document that is malformed, 422 for one that does not apply to this
// resource; each names the operation and where it points.
package patch
