#!/usr/bin/env bash
# Installs the FHIR client libraries the fhirclients test drives
# (fhir-kit-client, fhirclient, fhir.js), unchanged, into the git-ignored
# .cache/fhir-clients, exactly as locked in package-lock.json (npm ci; .npmrc
# leaves out fhirclient's optional React Native peers).
# Idempotent: does nothing when that lock is already installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dest="$root/.cache/fhir-clients"

if cmp -s "$here/package-lock.json" "$dest/package-lock.json" &&
  [ -f "$dest/node_modules/fhir-kit-client/package.json" ] &&
  [ -f "$dest/node_modules/fhirclient/package.json" ] &&
  [ -f "$dest/node_modules/fhir.js/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fhirclients install: npm is required" >&2; exit 1; }
mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$here/.npmrc" "$dest/"
npm ci --prefix "$dest" --no-audit --no-fund --silent
echo "fhirclients install: FHIR client libraries installed in $dest"
