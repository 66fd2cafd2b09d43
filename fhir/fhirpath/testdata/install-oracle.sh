#!/usr/bin/env bash
# Installs fhirpath.js, the HL7 FHIRPath reference implementation that
# fhir/fhirpath/oracle_test.go compares the Go evaluator with, into the
# git-ignored .cache/fhirpath-oracle, exactly as locked in testdata/oracle.
# Idempotent: does nothing when that lock is already installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dest="$root/.cache/fhirpath-oracle"

if cmp -s "$here/oracle/package-lock.json" "$dest/package-lock.json" &&
  [ -f "$dest/node_modules/fhirpath/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-oracle: npm is required" >&2; exit 1; }
mkdir -p "$dest"
cp "$here/oracle/package.json" "$here/oracle/package-lock.json" "$dest/"
npm ci --prefix "$dest" --no-audit --no-fund --silent
echo "install-oracle: fhirpath.js installed in $dest"
