// Evaluates FHIRPath invariants with fhirpath.js, the HL7 reference
// implementation (installed by make conformance-data), for
// internal/ips/conformance_test.go. Usage: node invariants.js MODULE_DIR < cases.json
//
// Input:  [{"resource": {...}, "expr": "..."}]
// Output: one line of JSON: [{"value": [...]} or {"error": "..."}], in case order.
'use strict';
const path = require('path');
const dir = process.argv[2];
const fhirpath = require(path.join(dir, 'node_modules/fhirpath'));
const model = require(path.join(dir, 'node_modules/fhirpath/fhir-context/r4'));

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((c) => {
    try {
      return { value: fhirpath.evaluate(c.resource, c.expr, null, model) };
    } catch (e) {
      return { error: String((e && e.message) || e) };
    }
  });
  process.stdout.write(JSON.stringify(out) + '\n');
});
