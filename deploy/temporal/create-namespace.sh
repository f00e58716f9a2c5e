#!/bin/sh
# One-shot, run by the `temporal-namespace` service in temporalio/admin-tools once the server is
# healthy: creates the namespace the API and workers use, with its retention (how long closed
# workflows stay visible). The `temporal` CLI replaces tctl, which is retired. Safe to run again.
# The search attributes are not created here: the worker adds what the namespace lacks at start
# (TEMPORAL_MANAGE_NAMESPACE=true), the same code path as on any cluster you run yourself.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}"
RETENTION="${RETENTION:-30d}"

for attempt in $(seq 1 60); do
  temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  echo "waiting for Temporal at ${TEMPORAL_ADDRESS} (${attempt}/60)"
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE} exists"
  exit 0
fi
temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
echo "namespace ${NAMESPACE} created (retention ${RETENTION})"
