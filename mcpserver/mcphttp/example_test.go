package mcphttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa/mcpserver/mcphttp"
)

// Serve an MCP server on loopback with a static bearer token: requests
// without it get 401, requests from a foreign origin 403.
func ExampleNew() {
	server := mcp.NewServer(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	token := mcphttp.GenerateToken() // print it once for the user, never log it
	verifier, err := mcphttp.StaticToken(token, "local", nil)
	if err != nil {
		panic(err)
	}
	h, err := mcphttp.New(server, mcphttp.Options{Verifier: verifier, AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	send := func(bearer, origin string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		_ = resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("WWW-Authenticate"))))
	}
	send("", "")
	send(token, "https://evil.example")
	send(token, "https://app.example.com")
	// Output:
	// 401 Bearer
	// 403
	// 200
}
