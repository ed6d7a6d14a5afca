package xpay

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
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

// FuzzSignMatchesHMAC holds Sign, and SignMAC with one MAC reused (as the
// transport pools them), to a fresh HMAC-SHA256 per message, for keys
// shorter than, equal to and longer than the SHA-256 block.
func FuzzSignMatchesHMAC(f *testing.F) {
	f.Add("sbx-vic-shared-secret", int64(1767225600), "v1/x", "apikey=K", []byte(`{"a":1}`))
	f.Add("", int64(0), "", "", []byte(nil))
	f.Add(strings.Repeat("k", 64), int64(1), "p", "q", []byte("b"))
	f.Add(strings.Repeat("k", 65), int64(1), "p", "q", []byte("b"))
	f.Add(strings.Repeat("k", 200), int64(1), strings.Repeat("p", 3000), "q", bytes.Repeat([]byte("b"), 70000))
	f.Fuzz(func(t *testing.T, secret string, ts int64, path, query string, body []byte) {
		if ts < 0 {
			ts = -(ts + 1)
		}
		want := "xv2:" + strconv.FormatInt(ts, 10) + ":" + refMAC(secret, strconv.FormatInt(ts, 10)+path+query+string(body))
		if got := Sign(secret, ts, path, query, body); got != want {
			t.Fatalf("Sign = %s, want %s", got, want)
		}
		h := NewMAC(secret)
		_ = SignMAC(h, ts+1, query, path, body) // leaves state behind that Reset must clear
		if got := SignMAC(h, ts, path, query, body); got != want {
			t.Fatalf("SignMAC with a reused MAC = %s, want %s", got, want)
		}
	})
}
