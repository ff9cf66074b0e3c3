#!/bin/sh
# Entrypoint of the meet-archive image: runs the container's command, after writing the
# Google service-account key to the file GOOGLE_APPLICATION_CREDENTIALS names when the key
# comes as an environment variable (ECS injects Secrets Manager values only so; compose
# and Kubernetes mount it as a file and do not set MEET_GOOGLE_SERVICE_ACCOUNT_JSON).
set -eu
if [ -n "${MEET_GOOGLE_SERVICE_ACCOUNT_JSON:-}" ]; then
    : "${GOOGLE_APPLICATION_CREDENTIALS:?set GOOGLE_APPLICATION_CREDENTIALS to where the key goes}"
    umask 077
    mkdir -p "$(dirname "$GOOGLE_APPLICATION_CREDENTIALS")"
    printf '%s' "$MEET_GOOGLE_SERVICE_ACCOUNT_JSON" > "$GOOGLE_APPLICATION_CREDENTIALS"
    unset MEET_GOOGLE_SERVICE_ACCOUNT_JSON
fi
exec "$@"
