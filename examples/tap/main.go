package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tap example:", err)
		os.Exit(1)
	}
}

// run plays the agent and the merchant, printing to out.
func run(ctx context.Context, out io.Writer) error {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}

	// The agent's key, and the directory that publishes it (Web Bot Auth).
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	directory := httptest.NewTLSServer(nil)
	defer directory.Close()
	signer, err := tap.NewSigner(priv, tap.WithKeyID("example-agent"), tap.WithSignatureAgent(directory.URL))
	if err != nil {
		return err
	}
	directory.Config.Handler = signer.DirectoryHandler()

	// The merchant knows the agent's registered key (TAP) and resolves Web
	// Bot Auth keys from the directory a request names.
	vk, err := httpsig.NewVerifyingKey(httpsig.Ed25519, pub)
	if err != nil {
		return err
	}
	dirs, err := tap.NewDirectories(tap.WithHTTPClient(directory.Client()))
	if err != nil {
		return err
	}
	verifier, err := tap.NewVerifier(tap.Resolvers{tap.StaticKeys{"example-agent": vk}, dirs})
	if err != nil {
		return err
	}
	who := func(r *http.Request) string {
		id, _ := tap.IdentityFrom(r.Context())
		s := fmt.Sprintf("tag=%s alg=%s", id.Tag, id.Algorithm)
		if id.Source != "" {
			return s + " directory=" + strings.Replace(id.Source, directory.URL, "https://agent.example", 1)
		}
		return s + " keyid=" + id.KeyID
	}
	mux := http.NewServeMux()
	mux.Handle("GET /products/{id}", verifier.Middleware(tap.TagBrowser, tap.TagWebBotAuth)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			say("merchant: product %s viewed by agent %s", r.PathValue("id"), who(r))
			fmt.Fprintln(w, `{"id":"`+r.PathValue("id")+`","price":"19.99"}`)
		})))
	mux.Handle("POST /checkout", verifier.Middleware(tap.TagPayer)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			say("merchant: order placed by agent %s", who(r))
			fmt.Fprintln(w, `{"order":"A-1001","status":"CONFIRMED"}`)
		})))
	merchant := httptest.NewServer(mux)
	defer merchant.Close()

	// The agent: one client, the tag chosen per request.
	var last *http.Request
	agent := &http.Client{Transport: signer.Transport(roundTripper(func(r *http.Request) (*http.Response, error) {
		last = r
		return http.DefaultTransport.RoundTrip(r)
	}))}
	defer agent.CloseIdleConnections()
	do := func(client *http.Client, tag tap.Tag, method, path string) error {
		rctx := ctx
		if tag != "" {
			rctx = tap.WithTag(ctx, tag)
		}
		req, err := http.NewRequestWithContext(rctx, method, merchant.URL+path, strings.NewReader(`{"items":[1]}`))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return answer(say, method, path, tag, resp)
	}
	steps := []struct {
		tag          tap.Tag
		method, path string
		client       *http.Client
	}{
		{tap.TagWebBotAuth, http.MethodGet, "/products/1", agent},
		{tap.TagBrowser, http.MethodGet, "/products/2", agent},
		{tap.TagPayer, http.MethodPost, "/checkout", agent},
		{"", http.MethodPost, "/checkout", http.DefaultClient},
		{tap.TagBrowser, http.MethodPost, "/checkout", agent},
	}
	var paid *http.Request
	for _, s := range steps {
		if err := do(s.client, s.tag, s.method, s.path); err != nil {
			return err
		}
		if s.tag == tap.TagPayer {
			paid = last
		}
	}
	// Someone who captured the signed checkout replays it.
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	replay := paid.Clone(ctx)
	replay.Body = io.NopCloser(strings.NewReader(`{"items":[1]}`))
	resp, err := http.DefaultTransport.RoundTrip(replay)
	if err != nil {
		return err
	}
	return answer(say, "POST", "/checkout", "replayed", resp)
}

func answer(say func(string, ...any), method, path string, tag tap.Tag, resp *http.Response) error {
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if tag == "" {
		tag = "unsigned"
	}
	say("agent:    %s %s (%s) -> %d %s", method, path, tag, resp.StatusCode, strings.TrimSpace(string(body)))
	return nil
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
