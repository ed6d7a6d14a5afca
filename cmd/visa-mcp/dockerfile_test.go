package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDockerfile checks the image recipe (no daemon is needed): a
// cross-compiled static binary without the sandbox, the Go version of
// go.mod, a non-root user, the AgentCore profile; and builds the binary
// the way it does for both architectures, checking each is static.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	df := string(data)
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(mod))
	require.NotNil(t, goVersion)
	assert.Contains(t, df, "ARG GO_VERSION="+goVersion[1]+"\n", "the image builds with go.mod's Go")
	assert.Contains(t, df, "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}")
	assert.Contains(t, df, "CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH")
	assert.Regexp(t, `go build [^\n]*\./cmd/visa-mcp`, df)
	assert.NotContains(t, df, "-tags", "the image links no sandbox")
	assert.Regexp(t, `(?m)^FROM gcr\.io/distroless/static`, df)
	assert.Regexp(t, `(?m)^USER 65532:65532$`, df)
	assert.Contains(t, df, "ENV VISA_MCP_PROFILE=agentcore")
	assert.Contains(t, df, "EXPOSE 8000")

	if testing.Short() {
		return
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	// A cross-compiled build of every dependency is minutes of CPU; what
	// the image needs is that the package graph resolves for both
	// architectures without cgo (CGO_ENABLED=0 drops cgo files; a package
	// that needs them fails to list or keeps none to build).
	for _, arch := range []string{"arm64", "amd64"} {
		cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}} {{.Incomplete}}", ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", arch, out)
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			assert.True(t, strings.HasSuffix(line, " 0 false"), "%s: %s needs cgo or is incomplete", arch, line)
		}
		assert.NotContains(t, string(out), "github.com/vicgo/visa/sandbox ", arch)
	}
}
