package httpsig_test

import (
	"bufio"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap/httpsig"
)

// The test keys of RFC 9421 Appendix B.1, as the RFC prints them. They are
// public test data; they must never protect anything.

// RFC 9421 §B.1.1, test-key-rsa (PKCS#1).
const testKeyRSA = `-----BEGIN RSA PRIVATE KEY-----
MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsP
BRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsd
JKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75
jfZgkne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKI
lE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZ
SFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56
vjgCgkjg3lkO1KrO3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxE
CpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL5934egm6p8DW
+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaA
yRXtK+JGxZpImTq+NHvEWWCu09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKR
Qo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5asI0J
YFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOM
cCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5Csw
DzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1
mwJ5AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RT
qn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2ZbwVOCJCtmRwmnP131lWRYfj67
B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv
9C+celgZd2PW7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bn
f3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAcQWDLRpkGybBcxqZo
81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa
/2IxKzJKWl1BKr2d4xAfR0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAG
IxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtvUvYvF22m
qQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1P
WtP+fG5Q6Dpdz3LRfm+KwBCWFKQjg7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQ
EQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=
-----END RSA PRIVATE KEY-----`

// RFC 9421 §B.1.2, test-key-rsa-pss: PKCS#8 under the id-RSASSA-PSS OID,
// which crypto/x509 refuses (see parsePSSKey).
const testKeyRSAPSS = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADALBgkqhkiG9w0BAQoEggSqMIIEpgIBAAKCAQEAr4tmm3r20Wd/Pbqv
P1s2+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry5
3mm+oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7Oyr
FAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUA
AN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw
9lq4aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oy
c6XI2wIDAQABAoIBAQCUB8ip+kJiiZVKF8AqfB/aUP0jTAqOQewK1kKJ/iQCXBCq
pbo360gvdt05H5VZ/RDVkEgO2k73VSsbulqezKs8RFs2tEmU+JgTI9MeQJPWcP6X
aKy6LIYs0E2cWgp8GADgoBs8llBq0UhX0KffglIeek3n7Z6Gt4YFge2TAcW2WbN4
XfK7lupFyo6HHyWRiYHMMARQXLJeOSdTn5aMBP0PO4bQyk5ORxTUSeOciPJUFktQ
HkvGbym7KryEfwH8Tks0L7WhzyP60PL3xS9FNOJi9m+zztwYIXGDQuKM2GDsITeD
2mI2oHoPMyAD0wdI7BwSVW18p1h+jgfc4dlexKYRAoGBAOVfuiEiOchGghV5vn5N
RDNscAFnpHj1QgMr6/UG05RTgmcLfVsI1I4bSkbrIuVKviGGf7atlkROALOG/xRx
DLadgBEeNyHL5lz6ihQaFJLVQ0u3U4SB67J0YtVO3R6lXcIjBDHuY8SjYJ7Ci6Z6
vuDcoaEujnlrtUhaMxvSfcUJAoGBAMPsCHXte1uWNAqYad2WdLjPDlKtQJK1diCm
rqmB2g8QE99hDOHItjDBEdpyFBKOIP+NpVtM2KLhRajjcL9Ph8jrID6XUqikQuVi
4J9FV2m42jXMuioTT13idAILanYg8D3idvy/3isDVkON0X3UAVKrgMEne0hJpkPL
FYqgetvDAoGBAKLQ6JZMbSe0pPIJkSamQhsehgL5Rs51iX4m1z7+sYFAJfhvN3Q/
OGIHDRp6HjMUcxHpHw7U+S1TETxePwKLnLKj6hw8jnX2/nZRgWHzgVcY+sPsReRx
NJVf+Cfh6yOtznfX00p+JWOXdSY8glSSHJwRAMog+hFGW1AYdt7w80XBAoGBAImR
NUugqapgaEA8TrFxkJmngXYaAqpA0iYRA7kv3S4QavPBUGtFJHBNULzitydkNtVZ
3w6hgce0h9YThTo/nKc+OZDZbgfN9s7cQ75x0PQCAO4fx2P91Q+mDzDUVTeG30mE
t2m3S0dGe47JiJxifV9P3wNBNrZGSIF3mrORBVNDAoGBAI0QKn2Iv7Sgo4T/XjND
dl2kZTXqGAk8dOhpUiw/HdM3OGWbhHj2NdCzBliOmPyQtAr770GITWvbAI+IRYyF
S7Fnk6ZVVVHsxjtaHy1uJGFlaZzKR4AGNaUTOJMs6NadzCmGPAxNQQOCqoUjn4XR
rOjr9w349JooGXhOxbu8nOxX
-----END PRIVATE KEY-----`

// RFC 9421 §B.1.3, test-key-ecc-p256 (SEC 1).
const testKeyECCP256 = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFKbhfNZfpDsW43+0+JjUr9K+bTeuxopu653+hBaXGA7oAoGCCqGSM49
AwEHoUQDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM
4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END EC PRIVATE KEY-----`

// RFC 9421 §B.1.4, test-key-ed25519 (PKCS#8).
const testKeyEd25519 = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`

// RFC 9421 §B.1.5, test-shared-secret (64 bytes, Base64).
const testSharedSecret = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="

// RFC 9421 §B.2, test-request and test-response.
const (
	requestDigest  = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	responseDigest = "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:"
	testRequest    = "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
		"Host: example.com\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Digest: " + requestDigest + "\r\n" +
		"Content-Length: 18\r\n\r\n" +
		`{"hello": "world"}`
	testResponse = "HTTP/1.1 200 OK\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Digest: " + responseDigest + "\r\n" +
		"Content-Length: 23\r\n\r\n" +
		`{"message": "good dog"}`
)

func readRequest(tb testing.TB, raw string) *http.Request {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	require.NoError(tb, err)
	return r
}

func readResponse(tb testing.TB, raw string) *http.Response {
	tb.Helper()
	r, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	require.NoError(tb, err)
	return r
}

func pemBlock(tb testing.TB, s string) []byte {
	tb.Helper()
	b, _ := pem.Decode([]byte(s))
	require.NotNil(tb, b)
	return b.Bytes
}

// parsePSSKey reads the §B.1.2 key. crypto/x509 accepts PKCS#8 only under
// the rsaEncryption OID; this key is under id-RSASSA-PSS
// (1.2.840.113549.1.1.10), so the PKCS#8 wrapper is read with encoding/asn1
// and its inner PKCS#1 RSAPrivateKey handed to crypto/x509.
func parsePSSKey(tb testing.TB) crypto.Signer {
	tb.Helper()
	var p8 struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	_, err := asn1.Unmarshal(pemBlock(tb, testKeyRSAPSS), &p8)
	require.NoError(tb, err)
	require.True(tb, p8.Algorithm.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}))
	k, err := x509.ParsePKCS1PrivateKey(p8.PrivateKey)
	require.NoError(tb, err)
	return k
}

func rsaKey(tb testing.TB) crypto.Signer {
	k, err := x509.ParsePKCS1PrivateKey(pemBlock(tb, testKeyRSA))
	require.NoError(tb, err)
	return k
}

func ecKey(tb testing.TB) crypto.Signer {
	k, err := x509.ParseECPrivateKey(pemBlock(tb, testKeyECCP256))
	require.NoError(tb, err)
	return k
}

func edKey(tb testing.TB) crypto.Signer {
	k, err := x509.ParsePKCS8PrivateKey(pemBlock(tb, testKeyEd25519))
	require.NoError(tb, err)
	return k.(crypto.Signer)
}

func sharedSecret(tb testing.TB) []byte {
	b, err := base64.StdEncoding.DecodeString(testSharedSecret)
	require.NoError(tb, err)
	return b
}

func verifyingKey(tb testing.TB, alg httpsig.Algorithm, s crypto.Signer) *httpsig.VerifyingKey {
	tb.Helper()
	k, err := httpsig.NewVerifyingKey(alg, s.Public())
	require.NoError(tb, err)
	return k
}

// appendixB are the six test cases of RFC 9421 §B.2: the Signature-Input
// and Signature members as printed (RFC 8792 line wrapping undone) and the
// signature base the RFC gives for each.
var appendixB = []struct {
	section, label, input, signature string
	response                         bool
	alg                              httpsig.Algorithm
	base                             []string
}{
	{
		section: "B.2.1 Minimal Signature Using rsa-pss-sha512", label: "sig-b21", alg: httpsig.RSAPSSSHA512,
		input:     `sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`,
		signature: `sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:`,
		base:      []string{`"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`},
	},
	{
		section: "B.2.2 Selective Covered Components Using rsa-pss-sha512", label: "sig-b22", alg: httpsig.RSAPSSSHA512,
		input:     `sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
		signature: `sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:`,
		base: []string{
			`"@authority": example.com`,
			`"content-digest": ` + requestDigest,
			`"@query-param";name="Pet": dog`,
			`"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
		},
	},
	{
		section: "B.2.3 Full Coverage Using rsa-pss-sha512", label: "sig-b23", alg: httpsig.RSAPSSSHA512,
		input:     `sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
		signature: `sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:`,
		base: []string{
			`"date": Tue, 20 Apr 2021 02:07:55 GMT`,
			`"@method": POST`,
			`"@path": /foo`,
			`"@query": ?param=Value&Pet=dog`,
			`"@authority": example.com`,
			`"content-type": application/json`,
			`"content-digest": ` + requestDigest,
			`"content-length": 18`,
			`"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
		},
	},
	{
		section: "B.2.4 Signing a Response Using ecdsa-p256-sha256", label: "sig-b24", alg: httpsig.ECDSAP256SHA256, response: true,
		input:     `sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
		signature: `sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:`,
		base: []string{
			`"@status": 200`,
			`"content-type": application/json`,
			`"content-digest": ` + responseDigest,
			`"content-length": 23`,
			`"@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
		},
	},
	{
		section: "B.2.5 Signing a Request Using hmac-sha256", label: "sig-b25", alg: httpsig.HMACSHA256,
		input:     `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`,
		signature: `sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:`,
		base: []string{
			`"date": Tue, 20 Apr 2021 02:07:55 GMT`,
			`"@authority": example.com`,
			`"content-type": application/json`,
			`"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`,
		},
	},
	{
		section: "B.2.6 Signing a Request Using ed25519", label: "sig-b26", alg: httpsig.Ed25519,
		input:     `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
		signature: `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`,
		base: []string{
			`"date": Tue, 20 Apr 2021 02:07:55 GMT`,
			`"@method": POST`,
			`"@path": /foo`,
			`"@authority": example.com`,
			`"content-type": application/json`,
			`"content-length": 18`,
			`"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
		},
	},
}

func appendixKey(tb testing.TB, alg httpsig.Algorithm) *httpsig.VerifyingKey {
	tb.Helper()
	switch alg {
	case httpsig.RSAPSSSHA512:
		return verifyingKey(tb, alg, parsePSSKey(tb))
	case httpsig.ECDSAP256SHA256:
		return verifyingKey(tb, alg, ecKey(tb))
	case httpsig.Ed25519:
		return verifyingKey(tb, alg, edKey(tb))
	}
	k, err := httpsig.NewHMACVerifyingKey(sharedSecret(tb))
	require.NoError(tb, err)
	return k
}

// TestRFC9421AppendixB reproduces the signature bases of §B.2.1–B.2.6 byte
// for byte and verifies the RFC's signatures with the RFC's keys.
func TestRFC9421AppendixB(t *testing.T) {
	t.Parallel()
	for _, tc := range appendixB {
		t.Run(tc.label, func(t *testing.T) {
			t.Parallel()
			m := httpsig.Message{Request: readRequest(t, testRequest)}
			h := m.Request.Header
			if tc.response {
				m = httpsig.Message{Response: readResponse(t, testResponse)}
				h = m.Response.Header
			}
			h.Set("Signature-Input", tc.input)
			h.Set("Signature", tc.signature)
			sigs, err := httpsig.Parse(h)
			require.NoError(t, err, tc.section)
			require.Len(t, sigs, 1)
			base, err := sigs[0].Base(m)
			require.NoError(t, err)
			assert.Equal(t, strings.Join(tc.base, "\n"), string(base), tc.section)
			assert.NoError(t, sigs[0].Verify(m, appendixKey(t, tc.alg)), tc.section)
		})
	}
}

// TestRFC9421Deterministic signs B.2.5 (HMAC) and B.2.6 (Ed25519) afresh
// and gets the RFC's Signature-Input and Signature exactly.
func TestRFC9421Deterministic(t *testing.T) {
	t.Parallel()
	created := time.Unix(1618884473, 0)
	hm, err := httpsig.NewHMACKey(sharedSecret(t))
	require.NoError(t, err)
	ed, err := httpsig.NewSigningKey(httpsig.Ed25519, edKey(t))
	require.NoError(t, err)
	for _, tc := range []struct {
		idx   int
		key   *httpsig.SigningKey
		comps []string
		keyid string
	}{
		{4, hm, []string{`"date"`, `"@authority"`, `"content-type"`}, "test-shared-secret"},
		{5, ed, []string{`"date"`, `"@method"`, `"@path"`, `"@authority"`, `"content-type"`, `"content-length"`}, "test-key-ed25519"},
	} {
		want := appendixB[tc.idx]
		r := readRequest(t, testRequest)
		require.NoError(t, httpsig.SignRequest(r, want.label, httpsig.MustComponents(tc.comps...),
			httpsig.Params{Created: created, KeyID: tc.keyid}, tc.key), want.section)
		assert.Equal(t, want.input, r.Header.Get("Signature-Input"), want.section)
		assert.Equal(t, want.signature, r.Header.Get("Signature"), want.section)
	}
}

// RFC 9421 §4.3: a TLS-terminating proxy adds its own rsa-v1_5-sha256
// signature (test-key-rsa) beside the client's ecdsa-p256-sha256 one. PKCS#1
// v1.5 is deterministic, so the proxy's signature is reproduced exactly; the
// client's is verified over the request as the client sent it.
const (
	section43Input = `sig1=("@method" "@authority" "@path" "content-digest" "content-type" "content-length");created=1618884475;keyid="test-key-ecc-p256", ` +
		`proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540`
	section43Sig1     = `sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+sNalzA8ESSaHD3A==:`
	section43ProxySig = `proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:`
	section43Request  = "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
		"Host: origin.host.internal.example\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: 18\r\n" +
		"Forwarded: for=192.0.2.123;host=example.com;proto=https\r\n" +
		"Content-Digest: " + requestDigest + "\r\n\r\n" +
		`{"hello": "world"}`
)

func TestRFC9421MultipleSignatures(t *testing.T) {
	t.Parallel()
	r := readRequest(t, section43Request)
	r.Header.Set("Signature-Input", section43Input)
	r.Header.Set("Signature", section43Sig1+", "+section43ProxySig)
	sigs, err := httpsig.Parse(r.Header)
	require.NoError(t, err)
	require.Len(t, sigs, 2)
	assert.Equal(t, "sig1", sigs[0].Label)
	assert.Equal(t, "proxy_sig", sigs[1].Label)
	assert.Equal(t, httpsig.RSAV15SHA256, sigs[1].Params.Alg)
	assert.Equal(t, time.Unix(1618884540, 0), sigs[1].Params.Expires)

	// The proxy's signature verifies over the forwarded request.
	require.NoError(t, sigs[1].Verify(httpsig.Message{Request: r}, verifyingKey(t, httpsig.RSAV15SHA256, rsaKey(t))))
	// The client's signature covered the authority it addressed.
	orig := r.Clone(r.Context())
	orig.Host = "example.com"
	require.NoError(t, sigs[0].Verify(httpsig.Message{Request: orig}, verifyingKey(t, httpsig.ECDSAP256SHA256, ecKey(t))))
	// ...and fails over the proxied one.
	require.ErrorIs(t, sigs[0].Verify(httpsig.Message{Request: r}, verifyingKey(t, httpsig.ECDSAP256SHA256, ecKey(t))), httpsig.ErrInvalidSignature)

	// Signing again reproduces the proxy's signature exactly.
	fresh := readRequest(t, section43Request)
	k, err := httpsig.NewSigningKey(httpsig.RSAV15SHA256, rsaKey(t))
	require.NoError(t, err)
	s, err := httpsig.Sign(httpsig.Message{Request: fresh}, "proxy_sig",
		httpsig.MustComponents(`"@method"`, `"@authority"`, `"@path"`, `"content-digest"`, `"content-type"`, `"content-length"`, `"forwarded"`),
		httpsig.Params{Created: time.Unix(1618884480, 0), KeyID: "test-key-rsa", Alg: httpsig.RSAV15SHA256, Expires: time.Unix(1618884540, 0)}, k)
	require.NoError(t, err)
	assert.Equal(t, section43ProxySig, s.SignatureField())
	assert.Equal(t, strings.TrimPrefix(section43Input, section43Input[:strings.Index(section43Input, "proxy_sig=")]), s.SignatureInput())
}
