#!/bin/sh
# Event Grid refuses an AzureFunction endpoint that is not deployed yet, so the first `azd up` provisions
# without the ACR event subscription and this hook adds it once the app (and its imagePushed function)
# is deployed. Later runs provision it with everything else.
set -eu

if [ -z "${GREENLIGHT_REGISTRY_NAME:-}" ] || [ "${GREENLIGHT_SUBSCRIBE_TO_REGISTRY:-false}" = "true" ]; then
  exit 0
fi

azd env set GREENLIGHT_SUBSCRIBE_TO_REGISTRY true
# The host indexes a new package's functions shortly after deploy.
for attempt in 1 2 3 4 5; do
  if azd provision --no-prompt; then
    exit 0
  fi
  echo "ACR event subscription not created yet (attempt $attempt of 5); retrying in 30 s" >&2
  sleep 30
done
azd env set GREENLIGHT_SUBSCRIBE_TO_REGISTRY false
echo "Could not subscribe to $GREENLIGHT_REGISTRY_NAME: check that the app starts (its log lists every" \
  "configuration problem), then run: azd env set GREENLIGHT_SUBSCRIBE_TO_REGISTRY true && azd provision" >&2
exit 1
