#!/bin/sh
# Load the fixture patients into the HAPI FHIR server of docker-compose.yml (run by hapi-preload).
#
# HAPI's image has no shell or curl, so its readiness is checked from here: poll
# $FHIR_BASE/metadata until it answers, then POST the transaction Bundle. "__TODAY__" in the
# Bundle becomes today's date, so the labs are always inside the service's freshness window.
# Every entry is a PUT with a fixed id: running this again updates the same resources.
set -eu

FHIR_BASE="${FHIR_BASE:-http://hapi:8080/fhir}"
BUNDLE="${BUNDLE:-/preload/fixture-patients.json}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"

echo "waiting up to ${WAIT_SECONDS}s for ${FHIR_BASE}/metadata"
curl --silent --show-error --fail --output /dev/null \
    --retry 1000 --retry-delay "${RETRY_DELAY:-5}" --retry-all-errors --retry-max-time "${WAIT_SECONDS}" \
    --header "Accept: application/fhir+json" "${FHIR_BASE}/metadata"

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
today="$(date -u +%Y-%m-%d)"
sed "s/__TODAY__/${today}/g" "${BUNDLE}" > "${work}/bundle.json"

echo "loading $(grep -c '"fullUrl"' "${work}/bundle.json") resources into ${FHIR_BASE}"
curl --silent --show-error --fail --output "${work}/response.json" \
    --request POST --header "Content-Type: application/fhir+json" \
    --data-binary "@${work}/bundle.json" "${FHIR_BASE}"
echo "loaded: $(grep -o '"status": *"[0-9][0-9]* [A-Za-z]*"' "${work}/response.json" | tr '\n' ' ')"
