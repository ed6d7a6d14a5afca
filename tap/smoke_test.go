package tap_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

func TestSmoke(t *testing.T) {
	ed, _, _ := testKeys(t)
	c := newClock()
	s, err := tap.NewSigner(ed, tap.WithSignerClock(c.Now))
	require.NoError(t, err)
	vk, err := httpsig.NewVerifyingKey("", ed.Public())
	require.NoError(t, err)
	v, err := tap.NewVerifier(tap.StaticKeys{s.KeyID(): vk}, tap.WithClock(c.Now))
	require.NoError(t, err)
	srv := httptest.NewServer(v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := tap.IdentityFrom(r.Context())
		_, _ = w.Write([]byte(id.KeyID + " " + string(id.Tag)))
	})))
	defer srv.Close()
	hc := &http.Client{Transport: s.Transport(nil)}
	resp, err := hc.Get(srv.URL + "/x?y=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	hc.CloseIdleConnections()
}
