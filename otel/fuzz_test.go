package otel_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	votel "github.com/vicgo/visa/otel"
)

// roundTripFunc is an http.RoundTripper from a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzWrapTransportURL: whatever the URL, WrapTransport sends it
// unchanged, and the span's url.full holds neither its query, nor its
// fragment, nor its user information.
func FuzzWrapTransportURL(f *testing.F) {
	f.Add("/vacp/v1/instructions", "apikey=SBXVICAPIKEY01&x=1", "frag", "user:pass")
	f.Add("/vts/panEnrollments/{id}", "", "", "")
	f.Add("/a%2Fb", "apikey=a%26b", "", "u")
	f.Fuzz(func(t *testing.T, path, query, fragment, user string) {
		u := &url.URL{Scheme: "https", Host: "sandbox.api.visa.com", Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: query, Fragment: fragment}
		if user != "" {
			u.User = url.UserPassword(user, "secret-password")
		}
		want := u.String()
		tel := newTelemetry(t)
		var sent string
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = r.URL.String()
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: r}, nil
		})
		req, err := http.NewRequest(http.MethodGet, want, nil)
		if err != nil {
			t.Skip()
		}
		want = req.URL.String()
		res, err := votel.WrapTransport(tel.opts()...)(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if sent != want {
			t.Fatalf("sent %q, want %q", sent, want)
		}
		if res.Request != req {
			t.Fatal("the response does not name the caller's request")
		}
		spans := tel.ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans", len(spans))
		}
		full := attrs(spans[0])["url.full"].AsString()
		clean := *req.URL
		clean.RawQuery, clean.ForceQuery, clean.Fragment, clean.RawFragment, clean.User = "", false, "", "", nil
		if full != clean.String() {
			t.Fatalf("url.full %q, want %q (no query, fragment or user information)", full, clean.String())
		}
	})
}
