# syntax=docker/dockerfile:1
# Container image of pw-activate-scim-sync, run by k8s/base/cronjob.yaml.
#
#   docker build -t ghcr.io/parallelworks/pw-activate-scim-sync:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# The binary is built by scripts/build-release, the same script CI runs: glibc target
# x86_64-unknown-linux-gnu, release profile, --no-default-features (no `demo` subcommand).
# The script explains the choice of glibc over a static musl build. The builder's Debian 12
# glibc matches the runtime image's. Both stages are linux/amd64 because the target is
# x86_64; pin the base images by digest for reproducible production builds.
#
# The base images are build arguments so that a machine with no image registry can build
# from local stand-ins: scripts/image-bases makes them from Debian 12 packages, and
# scripts/image-test builds and runs the image with them (see its header for the build
# command, which mounts a Rust toolchain and the host's CA bundle into the build).
ARG BUILDER_IMAGE=docker.io/library/rust:1.95.0-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cp "$(scripts/build-release)" /pw-activate-scim-sync

# distroless/cc: glibc, libgcc, CA certificates (/etc/ssl/certs/ca-certificates.crt, which
# the tool's TLS stack reads) and the nonroot user 65532; no shell, no package manager.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="pw-activate-scim-sync" \
      org.opencontainers.image.description="Keeps CoreWeave IAM (SCIM 2.0) in step with Parallel Works ACTIVATE users, groups and SSH keys." \
      org.opencontainers.image.source="https://github.com/parallelworks/pw-activate-scim-sync" \
      org.opencontainers.image.url="https://github.com/parallelworks/pw-activate-scim-sync" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="Parallel Works" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /pw-activate-scim-sync /pw-activate-scim-sync
# Numeric, so that Kubernetes' runAsNonRoot can verify it without an /etc/passwd lookup.
USER 65532:65532
# Without a subcommand the tool runs one sync; the CronJob passes `sync` explicitly.
ENTRYPOINT ["/pw-activate-scim-sync"]
