package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startShop runs the example on a free port until the test ends.
func startShop(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the shop did not stop")
		}
	})
	select {
	case u := <-urls:
		return u
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the shop did not start")
	}
	return ""
}

// TestCrossSitePostIsRefused is the cross-site case: a form on another site
// posting to /add or /buy started a flow and sent the shopper to the
// passkey page. The shop now answers 403 and starts nothing; a post from
// its own page still works.
func TestCrossSitePostIsRefused(t *testing.T) {
	base := startShop(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader("token=vpt-0001"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	attacks := map[string]map[string]string{
		"a browser's cross-site form":         {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"a browser's same-site, other origin": {"Sec-Fetch-Site": "same-site", "Origin": "http://shop.127.0.0.1.nip.io"},
		"an older browser (Origin only)":      {"Origin": "https://evil.example"},
		"an older browser with a null Origin": {"Origin": "null"},
	}
	for _, path := range []string{"add", "buy"} {
		for name, h := range attacks {
			resp := post(path, h)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST /%s from %s: %s (Location %q), want 403", path, name, resp.Status, resp.Header.Get("Location"))
			}
		}
	}
	origin := strings.TrimSuffix(base, "/")
	resp := post("add", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": origin})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/vpp/page?channel=") {
		t.Fatalf("POST /add from the shop's own page: %s to %q", resp.Status, loc)
	}
}
