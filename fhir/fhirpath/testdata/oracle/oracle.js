// Evaluates FHIRPath with fhirpath.js, the HL7 reference implementation, for
// fhir/fhirpath/oracle_test.go. Usage: node oracle.js MODULE_DIR < cases.json
//
// Input:  {"resources": {name: resource}, "cases": [{"expr", "resource",
//          "base"?, "focus"?}]}; without focus the case runs on the
//          resource, with it on focus typed by base (a composite component).
// Output: one line of JSON: [{"types": [...], "values": [...]} or
//          {"error": "..."}], in case order.
'use strict';
const path = require('path');
const dir = process.argv[2];
const fhirpath = require(path.join(dir, 'node_modules/fhirpath'));
const model = require(path.join(dir, 'node_modules/fhirpath/fhir-context/r4'));
const { ResourceNode } = require(path.join(dir, 'node_modules/fhirpath/src/types'));

// fhirpath.js resolves references only through a server. Search extraction
// asks only which type a reference points to, so resolve() here returns a
// stand-in of that type: independent of the Go code, it uses the reference
// regex of R4 references.html ("Literal references") and Reference.type.
const refPattern = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
function isResourceType(t) {
  for (let p = t; p; p = model.type2Parent[p]) {
    if (p === 'Resource') return t !== 'Resource' && t !== 'DomainResource';
  }
  return false;
}
function resolver(root) {
  return {
    resolve: {
      arity: { 0: [] },
      fn: function (inputs) {
        const ctx = this;
        const out = [];
        for (const item of inputs) {
          const ref = (item && item.data) || item;
          if (!ref || typeof ref !== 'object') continue;
          let stub = null;
          const r = typeof ref.reference === 'string' ? ref.reference : '';
          if (r.startsWith('#')) {
            const hit = r === '#' ? root : (root.contained || []).find((c) => c.id === r.slice(1));
            if (hit) stub = hit;
          } else {
            const m = refPattern.exec(r);
            let type = m && isResourceType(m[1]) ? m[1] : null;
            if (!type && typeof ref.type === 'string') {
              const t = ref.type.replace('http://hl7.org/fhir/StructureDefinition/', '');
              if (isResourceType(t)) type = t;
            }
            if (type) stub = m && type === m[1] ? { resourceType: type, id: m[2] } : { resourceType: type };
          }
          if (stub) out.push(ResourceNode.makeResNode(ctx, stub, null, null, null, null));
        }
        return out;
      },
    },
  };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const { resources, cases } = JSON.parse(input);
  const out = cases.map((c) => {
    const root = resources[c.resource];
    try {
      const data = c.focus === undefined ? root : c.focus;
      const expr = c.base ? { base: c.base, expression: c.expr } : c.expr;
      const res = fhirpath.evaluate(data, expr, { resource: root, rootResource: root }, model,
        { resolveInternalTypes: false, userInvocationTable: resolver(root) });
      return { types: fhirpath.types(res), values: fhirpath.resolveInternalTypes(res) };
    } catch (e) {
      return { error: String(e && e.message || e) };
    }
  });
  process.stdout.write(JSON.stringify(out) + '\n');
});
