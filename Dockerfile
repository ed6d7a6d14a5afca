# syntax=docker/dockerfile:1
#
# visa-mcp for AWS Bedrock AgentCore Runtime (and any container platform):
# a static binary (CGO_ENABLED=0, no sandbox linked) on a distroless base,
# run as a non-root user. Multi-architecture:
#
#   docker buildx build --platform linux/arm64,linux/amd64 -t visa-mcp .
#
# The image starts with the AgentCore profile (0.0.0.0:8000/mcp, stateless
# streamable HTTP, OAuth bearer tokens); see docs/deploy-agentcore.md for
# the environment it needs. Secrets come from mounted files through the
# *_FILE variables, never from arguments.

ARG GO_VERSION=1.26

# The compiler runs on the build machine's platform and cross-compiles
# for the target: no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/visa-mcp ./cmd/visa-mcp

# distroless/static: CA certificates, /etc/passwd with the nonroot user
# (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/visa-mcp /usr/local/bin/visa-mcp
USER 65532:65532
ENV VISA_MCP_PROFILE=agentcore
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/visa-mcp"]
