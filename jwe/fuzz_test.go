package jwe

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// seedCompacts are valid JWEs plus a few broken ones, for every fuzz target.
func seedCompacts(f *testing.F) []string {
	f.Helper()
	var out []string
	for _, v := range vectors(f) {
		out = append(out, v.Compact)
	}
	good := vec(f, "field-card").Compact
	out = append(out, "", "....", "a.b.c.d.e", good+".", good[:len(good)/2],
		strings.Replace(good, ".", "..", 1), setPart(good, 4, part(good, 4)+"="),
		withHeader(good, `{"alg":"A256GCMKW","alg":"dir","enc":"A256GCM"}`),
		withHeader(good, `{"alg":"A256GCMKW","enc":"A256GCM","kid":"SBXENCAPIKEY01","iv":"","tag":""}`),
		withHeader(good, `{"alg":"RSA-OAEP-256","enc":"A128GCM","iat":1e400}`))
	return out
}

// checkTyped fails unless err wraps exactly one sentinel.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d sentinels", err, n)
	}
}

func FuzzFieldDecrypt(f *testing.F) {
	for _, s := range seedCompacts(f) {
		f.Add(s)
	}
	c := fieldCipher(f)
	f.Fuzz(func(t *testing.T, compact string) {
		pt, err := c.Decrypt(compact)
		checkTyped(t, err)
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
			return
		}
		again, err := c.EncryptAt(pt, time.Unix(1767225600, 0))
		if err != nil {
			t.Fatal(err)
		}
		if back, err := c.Decrypt(again); err != nil || string(back) != string(pt) {
			t.Fatalf("re-encryption does not round-trip: %v", err)
		}
	})
}

func FuzzMLEDecrypt(f *testing.F) {
	for _, s := range seedCompacts(f) {
		f.Add(s)
	}
	d := mleDecrypter(f)
	f.Fuzz(func(t *testing.T, compact string) {
		pt, h, err := d.Decrypt(compact)
		checkTyped(t, err)
		if err != nil {
			if pt != nil || h != (Header{}) {
				t.Fatal("plaintext or header returned with an error")
			}
			return
		}
		if h.Alg != AlgRSAOAEP256 || (h.Enc != EncA128GCM && h.Enc != EncA256GCM) {
			t.Fatalf("decrypted a JWE outside the allow-list: %+v", h)
		}
		checkTyped(t, h.CheckIssuedAt(time.Unix(1767225600, 0), time.Minute))
	})
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range seedCompacts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, compact string) {
		h, err := ParseHeader(compact)
		checkTyped(t, err)
		if err != nil {
			return
		}
		if strings.Count(compact, ".") != 4 || len(compact) > DefaultMaxInput {
			t.Fatal("accepted a JWE that is not five parts within the size limit")
		}
		if h.Alg == "" || h.Enc == "" {
			t.Fatal("accepted a header without alg or enc")
		}
		checkTyped(t, h.CheckIssuedAt(time.Now(), time.Minute))
	})
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"encData":"a.b.c.d.e"}`, `{"encData":1}`, `{"encData":"x","encData":"y"}`, `{}`, `[]`, `null`, ``,
		`{"encData":"\ud800"}`, `{"encData":"x"} `, `{"encData":"x"}{}`, `{"a":{"b":[1,2,{"c":"d"}]},"encData":"q"}`,
		`{"responseStatus":{"code":"MLE_REQUIRED"}}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range seedCompacts(f) {
		f.Add(MarshalEnvelope(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		compact, ok := ParseEnvelope(body)
		if !ok {
			if compact != "" {
				t.Fatal("compact returned with ok=false")
			}
			return
		}
		again, ok := ParseEnvelope(MarshalEnvelope(compact))
		if !ok || again != compact {
			t.Fatalf("envelope does not round-trip: %q", compact)
		}
	})
}
