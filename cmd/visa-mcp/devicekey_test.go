package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
)

func TestDeviceKeyFromEnvironment(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	vars := map[string]string{}
	for _, line := range sbx.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		vars[name] = value
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	db := func() flags { return flags{db: filepath.Join(t.TempDir(), "mcp.db")} }

	logs := &testutil.LogBuffer{}
	e, err := setup(context.Background(), db(), lookup, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	e.close()
	assert.Contains(t, logs.String(), "no VISA_MCP_DEVICE_KEY", "a stored deployment without the key is warned")

	const short = "c2hvcnQta2V5LW9mLTE2Yg==" // 16 bytes
	vars["VISA_MCP_DEVICE_KEY"] = short
	_, err = setup(context.Background(), db(), lookup, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "VISA_MCP_DEVICE_KEY")
	assert.NotContains(t, err.Error(), short)

	vars["VISA_MCP_DEVICE_KEY"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes
	logs = &testutil.LogBuffer{}
	e, err = setup(context.Background(), db(), lookup, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	defer e.close()
	assert.NotContains(t, logs.String(), "VISA_MCP_DEVICE_KEY")
	srv, err := mcpserver.New(e.cfg, e.opts...)
	require.NoError(t, err)
	require.NoError(t, srv.Close())
}
