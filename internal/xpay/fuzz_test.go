package xpay

import (
	"errors"
	"testing"
	"time"
)

func FuzzVerify(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.want, g.secret, ResourcePath(g.urlPath), g.query, []byte(g.body), g.ts)
	}
	f.Add("", "s", "", "", []byte(nil), int64(0))
	f.Add("xv2:1:zz", "s", "p", "q", []byte("b"), int64(1))
	f.Add("xv2:99999999999999999999:00", "s", "p", "q", []byte("b"), int64(-1))
	f.Fuzz(func(t *testing.T, token, secret, path, query string, body []byte, now int64) {
		err := Verify(token, secret, path, query, body, time.Unix(now, 0), DefaultSkew)
		if err != nil {
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v wraps %d sentinels", err, n)
			}
		}
		// A freshly signed token always verifies at its own time.
		if secret != "" && now >= 0 {
			tok := Sign(secret, now, path, query, body)
			if err := Verify(tok, secret, path, query, body, time.Unix(now, 0), DefaultSkew); err != nil {
				t.Fatalf("own token does not verify: %v", err)
			}
		}
	})
}
