#!/bin/sh
# Push an image from a shell (or any CI) with a registry login that lives only as long as the push:
# `crlogin exec` logs in into a fresh private directory, runs skopeo with REGISTRY_AUTH_FILE (and
# DOCKER_CONFIG, HELM_REGISTRY_CONFIG) pointing there and without the password in its environment,
# then removes the directory, also when skopeo fails or the job is cancelled.
#
#   DCR_USERNAME, DCR_PASSWORD (or DCR_PASSWORD_FILE), DCR_REGISTRY   the registry login
#   IMAGE    what to push, e.g. docker-archive:app.tar or oci:build/app:1.0
#   TARGET   where to, e.g. registry.example.com/team/app:1.0
#   SKOPEO_COPY_FLAGS   optional extra flags, e.g. --dest-tls-verify=false for a plain-HTTP registry
#
# tests/examples.rs runs this script against a loopback registry.
set -eu
# shellcheck disable=SC2086 # SKOPEO_COPY_FLAGS is a list of flags
crlogin exec -- skopeo copy ${SKOPEO_COPY_FLAGS:-} "$IMAGE" "docker://$TARGET"
