// A clinic session run with each FHIR client library, unchanged, against a
// Mekong server: capabilities, register a migrant, find her by passport,
// record a test result and a vaccination in a transaction, read, update,
// search her record, history and vread, and page through a search.
// Usage: node session.mjs BASE TOKEN; prints one JSON line per step
// ({"lib","step","ok","detail"}) and exits 0 (the Go test judges).
import { createRequire } from "node:module";
import { Client } from "fhir-kit-client";

const require = createRequire(import.meta.url);
const smart = require("fhirclient");
const mkFhir = require("fhir.js");

const [base, token] = process.argv.slice(2);
const PASSPORT = "http://hl7.org/fhir/sid/passport-KHM";

function report(lib, step, ok, detail) {
  console.log(JSON.stringify({ lib, step, ok, detail: String(detail ?? "").slice(0, 500) }));
}

// errorText turns each library's error shape into a line for the report.
function errorText(e) {
  if (!e) return "error";
  const status = e.response?.status ?? e.status ?? e.statusCode ?? e.response?.statusCode;
  const body = e.response?.data ?? e.data ?? e.body ?? e.response?.body;
  const text = typeof body === "string" ? body : body?.resourceType ? JSON.stringify(body) : e.message ?? String(e);
  return (status ? status + " " : "") + text;
}

// run performs a library's steps in order and reports each; a failure does
// not stop the session (the steps after it still say what works).
async function run(lib, steps) {
  const ctx = {};
  for (const [name, fn] of steps) {
    try {
      report(lib, name, true, await fn(ctx));
    } catch (e) {
      report(lib, name, false, errorText(e));
    }
  }
}

const patient = (value, family, given) => ({
  resourceType: "Patient",
  identifier: [{ system: PASSPORT, value }],
  name: [{ use: "official", family, given: [given] }],
  gender: "female",
  birthDate: "1994-05-06",
});

// transactionBundle: a conditional Patient and a result about it.
const transactionBundle = (passport) => ({
  resourceType: "Bundle",
  type: "transaction",
  entry: [
    {
      fullUrl: "urn:uuid:0b5e2a4c-1111-4c1e-9c3e-" + passport.toLowerCase().padStart(12, "0").slice(-12),
      resource: patient(passport, "Chan", "Sreyleak"),
      request: { method: "POST", url: "Patient", ifNoneExist: `identifier=${PASSPORT}|${passport}` },
    },
    {
      resource: {
        resourceType: "Observation", status: "final",
        code: { coding: [{ system: "http://loinc.org", code: "94500-6" }] },
        subject: { reference: "urn:uuid:0b5e2a4c-1111-4c1e-9c3e-" + passport.toLowerCase().padStart(12, "0").slice(-12) },
        effectiveDateTime: "2026-03-14",
        valueCodeableConcept: { coding: [{ system: "http://snomed.info/sct", code: "260385009" }] },
      },
      request: { method: "POST", url: "Observation" },
    },
  ],
});

const immunization = (id) => ({
  resourceType: "Immunization", status: "completed",
  vaccineCode: { coding: [{ system: "http://hl7.org/fhir/sid/cvx", code: "511" }] },
  patient: { reference: "Patient/" + id }, occurrenceDateTime: "2021-07-02",
});

function expect(cond, what) {
  if (!cond) throw new Error("unexpected: " + what);
}

// fhir-kit-client (https://github.com/Vermonster/fhir-kit-client)
async function fhirKitClient() {
  const c = new Client({ baseUrl: base, bearerToken: token });
  const passport = "FKC0000001";
  await run("fhir-kit-client", [
    ["capabilities", async () => { const cs = await c.capabilityStatement(); expect(cs.fhirVersion === "4.0.1", cs.fhirVersion); return cs.fhirVersion; }],
    ["create", async (x) => { const p = await c.create({ resourceType: "Patient", body: patient(passport, "Sok", "Channy") }); x.id = p.id; expect(p.id, "no id"); return p.id; }],
    ["search", async (x) => { const b = await c.search({ resourceType: "Patient", searchParams: { identifier: `${PASSPORT}|${passport}` } }); expect(b.total === 1 && b.entry[0].resource.id === x.id, JSON.stringify(b.total)); return b.total; }],
    ["read", async (x) => { const p = await c.read({ resourceType: "Patient", id: x.id }); expect(p.meta.versionId === "1", p.meta.versionId); return p.meta.versionId; }],
    ["update", async (x) => { const body = { ...patient(passport, "Sok", "Channy"), id: x.id, telecom: [{ system: "phone", value: "+66 81 000 0001" }] }; const p = await c.update({ resourceType: "Patient", id: x.id, body }); expect(p.meta.versionId === "2", p.meta.versionId); return p.meta.versionId; }],
    ["vread", async (x) => { const p = await c.vread({ resourceType: "Patient", id: x.id, version: "1" }); expect(!p.telecom, "version 1 has a telecom"); return "1"; }],
    ["history", async (x) => { const b = await c.history({ resourceType: "Patient", id: x.id }); expect(b.entry.length === 2, b.entry.length); return b.entry.length; }],
    ["create-immunization", async (x) => { const i = await c.create({ resourceType: "Immunization", body: immunization(x.id) }); return i.id; }],
    ["patch", async (x) => { const p = await c.patch({ resourceType: "Patient", id: x.id, jsonPatch: [{ op: "add", path: "/active", value: true }] }); expect(p.active === true, JSON.stringify(p.active)); return p.meta.versionId; }],
    ["everything", async (x) => { const b = await c.operation({ name: "everything", resourceType: "Patient", id: x.id, method: "GET" }); expect(b.total === 2, b.total); return b.total; }],
    ["create-second", async () => { const p = await c.create({ resourceType: "Patient", body: patient(passport + "B", "Sok", "Malis") }); return p.id; }],
    ["paging", async () => { const b = await c.search({ resourceType: "Patient", searchParams: { _count: 1 } }); const next = await c.nextPage({ bundle: b }); expect(next && next.entry?.length === 1, "no next page"); return "next"; }],
    ["transaction", async () => { const b = await c.transaction({ body: transactionBundle(passport + "T") }); expect(b.type === "transaction-response", b.type); return b.entry.map((e) => e.response.status).join(","); }],
    ["batch", async (x) => { const b = await c.batch({ body: { resourceType: "Bundle", type: "batch", entry: [{ request: { method: "GET", url: "Patient/" + x.id } }] } }); expect(b.type === "batch-response", b.type); return b.entry[0].response.status; }],
  ]);
}

// fhirclient, SMART's JavaScript client (https://github.com/smart-on-fhir/client-js), in Node.
async function fhirclient() {
  const client = smart({ headers: {}, url: "/" }, {}).client({ serverUrl: base, tokenResponse: { access_token: token } });
  const passport = "SMART000001";
  const json = { "Content-Type": "application/fhir+json" };
  await run("fhirclient", [
    ["capabilities", async () => { const cs = await client.request("metadata"); expect(cs.fhirVersion === "4.0.1", cs.fhirVersion); return cs.fhirVersion; }],
    ["create", async (x) => { const p = await client.create(patient(passport, "Keo", "Bopha")); x.id = p.id; expect(p.id, "no id"); return p.id; }],
    ["search", async (x) => { const b = await client.request(`Patient?identifier=${encodeURIComponent(PASSPORT + "|" + passport)}`); expect(b.total === 1 && b.entry[0].resource.id === x.id, b.total); return b.total; }],
    ["read", async (x) => { const p = await client.request(`Patient/${x.id}`); expect(p.id === x.id, p.id); return p.meta.versionId; }],
    ["update", async (x) => { const p = await client.update({ ...patient(passport, "Keo", "Bopha"), id: x.id, active: true }); expect(p.meta.versionId === "2", p.meta.versionId); return p.meta.versionId; }],
    ["create-immunization", async (x) => { const i = await client.create(immunization(x.id)); return i.id; }],
    ["search-include", async (x) => { const b = await client.request(`Immunization?patient=Patient/${x.id}&_include=Immunization:patient`); expect(b.entry.length === 2, b.entry.length); return b.entry.length; }],
    ["create-second", async () => { const p = await client.create(patient(passport + "B", "Keo", "Sophy")); return p.id; }],
    ["paging", async () => { const pages = await client.request("Patient?_count=1", { pageLimit: 2 }); expect(Array.isArray(pages) && pages.length === 2, "not two pages"); return pages.length; }],
    ["transaction", async () => { const b = await client.request({ url: "", method: "POST", headers: json, body: JSON.stringify(transactionBundle(passport + "T")) }); expect(b.type === "transaction-response", b.type); return b.entry.map((e) => e.response.status).join(","); }],
    ["delete", async (x) => { await client.delete(`Immunization?patient=Patient/${x.id}`); return "deleted"; }],
  ]);
}

// fhir.js (https://github.com/FHIR/fhir.js), its Node adapter.
async function fhirjs() {
  const c = mkFhir({ baseUrl: base, auth: { bearer: token } });
  const passport = "FHIRJS00001";
  await run("fhir.js", [
    ["capabilities", async () => { const r = await c.conformance({}); expect(r.data.fhirVersion === "4.0.1", r.data.fhirVersion); return r.data.fhirVersion; }],
    ["create", async (x) => { const r = await c.create({ resource: patient(passport, "Heng", "Sothea") }); x.id = r.data.id; expect(x.id, "no id"); return x.id; }],
    ["search", async (x) => { const r = await c.search({ type: "Patient", query: { identifier: `${PASSPORT}|${passport}` } }); expect(r.data.total === 1 && r.data.entry[0].resource.id === x.id, r.data.total); return r.data.total; }],
    ["read", async (x) => { const r = await c.read({ type: "Patient", id: x.id }); expect(r.data.id === x.id, r.data.id); return r.data.meta.versionId; }],
    ["update", async (x) => { const r = await c.update({ resource: { ...patient(passport, "Heng", "Sothea"), id: x.id, active: true } }); expect(r.data.meta.versionId === "2", r.data.meta.versionId); return r.data.meta.versionId; }],
    ["vread", async (x) => { const r = await c.vread({ type: "Patient", id: x.id, versionId: "1" }); expect(r.data.meta.versionId === "1", r.data.meta.versionId); return "1"; }],
    ["history", async (x) => { const r = await c.resourceHistory({ type: "Patient", id: x.id }); expect(r.data.entry.length === 2, r.data.entry.length); return r.data.entry.length; }],
    ["transaction", async () => { const r = await c.transaction({ bundle: transactionBundle(passport + "T") }); expect(r.data.type === "transaction-response", r.data.type); return r.data.entry.map((e) => e.response.status).join(","); }],
    ["delete", async (x) => { await c.delete({ type: "Patient", id: x.id }); return "deleted"; }],
  ]);
}

await fhirKitClient();
await fhirclient();
await fhirjs();
