#!/bin/sh
# The namespace and Oferta's search attributes; safe to run again.
# Keep the list in step with oferta/search_attributes.py (tests/ops/test_compose.py checks it).
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$ns" --retention 30d
add() {
  temporal operator search-attribute create --namespace "$ns" --name "$1" --type "$2" 2>&1 \
    | grep -v -i "already" || true
}
add OfertaCustomerId Keyword
add OfertaPolicy Keyword
add OfertaServiceState Keyword
add OfertaNextAction Keyword
add OfertaNextClause Keyword
add OfertaNextDeadline Datetime
add OfertaOverdueMinorUnits Int
echo "namespace $ns and search attributes ready"
