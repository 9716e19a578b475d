#!/bin/sh
# One-shot job (temporalio/admin-tools): create the namespace the service uses and register its
# search attributes (workflows/search.py ALL_KEYS), so operators can filter in the Web UI with
# e.g. CompanyId="c_42" or SkimmerTouches="invoice:inv_1043".
# Idempotent: an existing namespace or attribute is left alone. Reads TEMPORAL_ADDRESS and
# TEMPORAL_NAMESPACE from the environment.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# Name=Type, as workflows/search.py registers them on the dev server.
SEARCH_ATTRIBUTES="CompanyId=Keyword RealmId=Keyword SkimmerRecord=Keyword BillingEvent=Keyword
    SkimmerTouches=KeywordList SyncState=Keyword"

# A freshly started server can pass its health check a little before its namespace registry
# settles, so each step is retried for about a minute before the job fails.
retry() {
    attempt=1
    until "$@"; do
        if [ "$attempt" -ge 30 ]; then
            echo "temporal-namespace: gave up after $attempt attempts: $*" >&2
            return 1
        fi
        attempt=$((attempt + 1))
        sleep 2
    done
}

ensure_namespace() {
    temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1 \
        || temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE"
}

ensure_search_attribute() {
    temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>/dev/null \
        | grep -qw "$1" \
        || temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
            --name "$1" --type "$2"
}

echo "temporal-namespace: waiting for $ADDRESS"
retry temporal operator cluster health --address "$ADDRESS"

echo "temporal-namespace: namespace '$NAMESPACE'"
retry ensure_namespace

for pair in $SEARCH_ATTRIBUTES; do
    name="${pair%%=*}"
    kind="${pair#*=}"
    echo "temporal-namespace: search attribute $name ($kind)"
    retry ensure_search_attribute "$name" "$kind"
done

echo "temporal-namespace: done"
