#!/bin/sh
# The namespace and Oferta's search attributes; safe to run again.
# Keep the list in step with oferta/search_attributes.py (tests/ops/test_compose.py checks it).
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"

# Retries a command every 2 s for up to a minute: the port opens before the frontend
# serves, and a new namespace reaches the server's namespace cache only after a while.
retry() {
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -ge 30 ] && { echo "gave up: $*" >&2; return 1; }
    sleep 2
  done
}

retry temporal operator cluster health
temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$ns" --retention 30d
retry temporal operator search-attribute list --namespace "$ns"

# Registers one attribute unless the namespace has it already.
add() {
  retry sh -c "temporal operator search-attribute list --namespace '$ns' | grep -qw '$1' \
    || temporal operator search-attribute create --namespace '$ns' --name '$1' --type '$2'"
}
add OfertaCustomerId Keyword
add OfertaPolicy Keyword
add OfertaServiceState Keyword
add OfertaNextAction Keyword
add OfertaNextClause Keyword
add OfertaNextDeadline Datetime
add OfertaOverdueMinorUnits Int
add OfertaHold Keyword
add OfertaOverrides KeywordList
echo "namespace $ns and search attributes ready"
