package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/xpay"
)

// checkNames lists the checks in the order they run, for -h.
var checkNames = []string{
	"configuration       the VISA_* variables parse and every value is well-formed",
	"VIC credentials     api key, shared secret, MLE key id and keys, client ids",
	"VTS credentials     api key, shared secret, app and wallet ids, encryption and hash secrets",
	"Auth iFrame         api key, app id and base URL",
	"MLE keys            the server certificate and the client private key parse; with your MLE client certificate, the pair matches",
	"mutual TLS keys     VISA_TLS_CLIENT_CERT and VISA_TLS_CLIENT_KEY are a pair",
	"TLS <host>          the handshake with each base URL's host (with the client certificate when set)",
	"helloworld VIC      GET /vdp/helloworld with the VIC api key and X-Pay-Token",
	"helloworld VTS      GET /vdp/helloworld with the VTS api key and X-Pay-Token",
	"helloworld mTLS     GET /vdp/helloworld over mutual TLS (client certificate, user id and password)",
	"signedPayload keys  the JWKS answers with usable signing keys (or the configured PEM keys parse)",
}

// doctor runs the checks and prints one line each.
type doctor struct {
	out                     io.Writer
	timeout                 time.Duration
	passed, failed, skipped int
}

func (d *doctor) pass(name, detail string) {
	d.passed++
	fmt.Fprintf(d.out, "PASS  %-20s %s\n", name, detail)
}

func (d *doctor) fail(name string, err error) {
	d.failed++
	fmt.Fprintf(d.out, "FAIL  %-20s %s\n", name, oneLine(err.Error()))
}

func (d *doctor) skip(name, why string) {
	d.skipped++
	fmt.Fprintf(d.out, "SKIP  %-20s %s\n", name, why)
}

// report prints the outcome of one check.
func (d *doctor) report(name string, detail string, err error) {
	if err != nil {
		d.fail(name, err)
		return
	}
	d.pass(name, detail)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkAll runs every check. A check that cannot run (its input is
// missing or failed an earlier check) is skipped, saying why.
func (d *doctor) checkAll(ctx context.Context, lookup func(string) (string, bool), o options) {
	cfg, err := visa.ConfigFromLookup(lookup)
	if err == nil {
		err = cfg.ValidateFor() // well-formedness only
	}
	if err != nil {
		d.fail("configuration", err)
		for _, n := range checkNames[1:] {
			name, _, _ := strings.Cut(n, "  ")
			d.skip(strings.TrimSpace(name), "the configuration does not parse")
		}
		return
	}
	vic, vts, auth := cfg.BaseURLs()
	d.pass("configuration", fmt.Sprintf("environment %s; VIC %s, VTS %s, Auth %s", cfg.Environment, vic, vts, auth))

	vicOK := cfg.ValidateFor(visa.ProductVIC)
	d.report("VIC credentials", "present and well-formed", vicOK)
	vtsOK := cfg.ValidateFor(visa.ProductVTS)
	d.report("VTS credentials", "present and well-formed", vtsOK)
	d.report("Auth iFrame", "present and well-formed", cfg.ValidateFor(visa.ProductAuth))

	d.checkMLE(cfg, lookup, o.mleClientCert)

	tlsCfg, tlsErr := cfg.TLS.ClientConfig()
	mtls := len(cfg.TLS.ClientCertPEM) > 0
	switch {
	case !mtls && cfg.TLS.ClientKeyPEM.IsZero():
		d.skip("mutual TLS keys", "no VISA_TLS_CLIENT_CERT: calls authenticate with X-Pay-Token only")
	default:
		d.report("mutual TLS keys", "the client certificate and key are a pair"+certSummary(cfg.TLS.ClientCertPEM), tlsErr)
	}
	if tlsErr != nil {
		for _, name := range []string{"TLS", "helloworld VIC", "helloworld VTS", "helloworld mTLS", "signedPayload keys"} {
			d.skip(name, "the TLS settings do not load")
		}
		return
	}

	seen := map[string]bool{}
	for _, base := range []string{vic, vts, auth} {
		u, err := url.Parse(base)
		if err != nil || seen[u.Host] {
			continue
		}
		seen[u.Host] = true
		name := "TLS " + u.Host
		if u.Scheme != "https" {
			d.skip(name, "plain HTTP (only a local sandbox): no TLS to check")
			continue
		}
		detail, err := d.handshake(ctx, u, tlsCfg)
		d.report(name, detail, err)
	}

	hc := d.httpClient(tlsCfg)
	defer hc.CloseIdleConnections()
	if vicOK == nil {
		detail, err := d.helloXPay(ctx, hc, vic, cfg.VIC.APIKey, cfg.VIC.SharedSecret)
		d.report("helloworld VIC", detail, err)
	} else {
		d.skip("helloworld VIC", "the VIC credentials are incomplete")
	}
	if vtsOK == nil {
		detail, err := d.helloXPay(ctx, hc, vts, cfg.VTS.APIKey, cfg.VTS.SharedSecret)
		d.report("helloworld VTS", detail, err)
	} else {
		d.skip("helloworld VTS", "the VTS credentials are incomplete")
	}
	if mtls {
		detail, err := d.helloMTLS(ctx, hc, vic, cfg.TLS)
		d.report("helloworld mTLS", detail, err)
	} else {
		d.skip("helloworld mTLS", "no VISA_TLS_CLIENT_CERT")
	}
	d.checkSignedPayload(ctx, hc, cfg.SignedPayload)
}

// checkMLE parses the MLE keys and, given the client certificate, checks
// that the private key is its pair.
func (d *doctor) checkMLE(cfg visa.Config, lookup func(string) (string, bool), certFile string) {
	const name = "MLE keys"
	if len(cfg.VIC.MLEServerCertPEM) == 0 || cfg.VIC.MLEClientPrivateKeyPEM.IsZero() {
		d.skip(name, "no VISA_MLE_SERVER_CERT or VISA_MLE_CLIENT_KEY")
		return
	}
	priv, err := parseRSAPrivate([]byte(cfg.VIC.MLEClientPrivateKeyPEM.Reveal()))
	if err != nil {
		d.fail(name, fmt.Errorf("VISA_MLE_CLIENT_KEY: %w", err))
		return
	}
	server, notAfter, err := parseRSAPublic(cfg.VIC.MLEServerCertPEM)
	if err != nil {
		d.fail(name, fmt.Errorf("VISA_MLE_SERVER_CERT: %w", err))
		return
	}
	if server.Equal(&priv.PublicKey) {
		d.fail(name, errors.New("VISA_MLE_SERVER_CERT holds the public half of VISA_MLE_CLIENT_KEY: it must be Visa's MLE server certificate, not yours"))
		return
	}
	detail := fmt.Sprintf("key id %s; client key RSA %d bits; server key RSA %d bits", cfg.VIC.MLEKeyID, priv.N.BitLen(), server.N.BitLen())
	if !notAfter.IsZero() {
		if time.Now().After(notAfter) {
			d.fail(name, fmt.Errorf("VISA_MLE_SERVER_CERT expired on %s", notAfter.Format(time.DateOnly)))
			return
		}
		detail += ", certificate valid until " + notAfter.Format(time.DateOnly)
	}
	certPEM, from, err := mleClientCert(lookup, certFile)
	switch {
	case err != nil:
		d.fail(name, err)
		return
	case certPEM == nil:
		detail += "; no MLE client certificate given (-mle-client-cert) to match the key against"
	default:
		pub, _, err := parseRSAPublic(certPEM)
		if err != nil {
			d.fail(name, fmt.Errorf("%s: %w", from, err))
			return
		}
		if !pub.Equal(&priv.PublicKey) {
			d.fail(name, fmt.Errorf("VISA_MLE_CLIENT_KEY is not the private key of %s: Visa would encrypt responses to a key you do not hold", from))
			return
		}
		detail += "; the client key matches " + from
	}
	d.pass(name, detail)
}

// mleClientCert returns the MLE client certificate given by the flag or
// the environment, nil if none.
func mleClientCert(lookup func(string) (string, bool), file string) ([]byte, string, error) {
	if file == "" {
		if v, _ := lookup("VISA_MLE_CLIENT_CERT"); strings.TrimSpace(v) != "" {
			return []byte(strings.ReplaceAll(v, `\n`, "\n")), "VISA_MLE_CLIENT_CERT", nil
		}
		v, _ := lookup("VISA_MLE_CLIENT_CERT_FILE")
		file = strings.TrimSpace(v)
	}
	if file == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("reading the MLE client certificate: %w", err)
	}
	return b, file, nil
}

func parseRSAPrivate(data []byte) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("does not parse as an RSA private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("is not an RSA key")
	}
	return rk, nil
}

// parseRSAPublic reads a certificate (with its expiry) or a public key.
func parseRSAPublic(data []byte) (*rsa.PublicKey, time.Time, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, time.Time{}, errors.New("is not PEM")
	}
	var pub crypto.PublicKey
	var notAfter time.Time
	switch b.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, time.Time{}, errors.New("holds a certificate that does not parse")
		}
		pub, notAfter = c.PublicKey, c.NotAfter
	default:
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, time.Time{}, errors.New("is neither a certificate nor a public key")
		}
		pub = k
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, time.Time{}, errors.New("does not hold an RSA key")
	}
	return rk, notAfter, nil
}

// certSummary describes the first certificate of a PEM bundle.
func certSummary(data []byte) string {
	b, _ := pem.Decode(data)
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (%s, valid until %s)", c.Subject.CommonName, c.NotAfter.Format(time.DateOnly))
}

// handshake dials u's host and completes a TLS handshake.
func (d *doctor) handshake(ctx context.Context, u *url.URL, base *tls.Config) (string, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg := base.Clone()
	cfg.ServerName = u.Hostname()
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", host)
	if err != nil {
		return "", fmt.Errorf("handshake with %s: %w", host, err)
	}
	defer conn.Close()
	st := conn.(*tls.Conn).ConnectionState()
	detail := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		detail += fmt.Sprintf(", server certificate %s valid until %s", c.Subject.CommonName, c.NotAfter.Format(time.DateOnly))
	}
	if len(cfg.Certificates) > 0 {
		detail += ", client certificate offered"
	}
	return detail, nil
}

// httpClient is a client with the configuration's TLS settings that does
// not follow redirects.
func (d *doctor) httpClient(tlsCfg *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	return &http.Client{Transport: tr, Timeout: d.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// helloWorldResource is the X-Pay resource path of GET /vdp/helloworld:
// the path without "/vdp/", as Visa signs it.
const helloWorldResource = "helloworld"

// helloXPay calls GET /vdp/helloworld with an api key and X-Pay-Token.
func (d *doctor) helloXPay(ctx context.Context, hc *http.Client, base string, key, secret visa.Secret) (string, error) {
	query := "apikey=" + url.QueryEscape(key.Reveal())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/vdp/helloworld?"+query, nil)
	if err != nil {
		return "", errors.New("the base URL does not make a request URL")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Pay-Token", xpay.Sign(secret.Reveal(), time.Now().Unix(), helloWorldResource, query, nil))
	return d.hello(hc, req, base)
}

// helloMTLS calls GET /vdp/helloworld over mutual TLS, with the two-way
// SSL user id and password when set.
func (d *doctor) helloMTLS(ctx context.Context, hc *http.Client, base string, t visa.TLSConfig) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/vdp/helloworld", nil)
	if err != nil {
		return "", errors.New("the base URL does not make a request URL")
	}
	req.Header.Set("Accept", "application/json")
	if t.UserID != "" {
		req.SetBasicAuth(t.UserID, t.Password.Reveal())
	}
	detail, err := d.hello(hc, req, base)
	if err == nil && t.UserID == "" {
		detail += " (no VISA_TLS_USER_ID: Visa's two-way SSL also needs the user id and password)"
	}
	return detail, err
}

// hello sends a helloworld request and reads Visa's answer. Errors name
// the URL without its query (which holds the api key).
func (d *doctor) hello(hc *http.Client, req *http.Request, base string) (string, error) {
	where := base + "/vdp/helloworld"
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("GET %s: %w", where, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	corr := res.Header.Get("X-Correlation-Id")
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d%s%s", where, res.StatusCode, visaReason(body), correlation(corr))
	}
	var hello struct {
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &hello); err != nil || hello.Message != "helloworld" {
		return "", fmt.Errorf("GET %s: HTTP 200 but not Visa's helloworld answer", where)
	}
	return fmt.Sprintf("%s answered helloworld at %s%s", base, hello.Timestamp, correlation(corr)), nil
}

// visaReason extracts code and message of a Visa error body.
func visaReason(body []byte) string {
	var e struct {
		ResponseStatus struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"responseStatus"`
	}
	if json.Unmarshal(body, &e) != nil || e.ResponseStatus.Code == "" {
		return ""
	}
	return " " + e.ResponseStatus.Code + ": " + oneLine(e.ResponseStatus.Message)
}

func correlation(id string) string {
	if id == "" {
		return ""
	}
	return " (correlation id " + id + ")"
}

// checkSignedPayload fetches and parses the JWKS, or parses the PEM keys.
func (d *doctor) checkSignedPayload(ctx context.Context, hc *http.Client, sp visa.SignedPayloadConfig) {
	const name = "signedPayload keys"
	switch {
	case sp.JWKSURL != "":
		detail, err := d.jwks(ctx, hc, sp.JWKSURL)
		d.report(name, detail, err)
	case len(sp.KeysPEM) > 0:
		n := 0
		for rest := sp.KeysPEM; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			n++
		}
		d.pass(name, strconv.Itoa(n)+" PEM key(s) configured (VISA_SIGNED_PAYLOAD_KEYS)")
	default:
		d.skip(name, "no VISA_SIGNED_PAYLOAD_JWKS_URL or VISA_SIGNED_PAYLOAD_KEYS: credentials come back unverified")
	}
}

// jwks fetches a JWKS and checks it holds public signing keys with ids.
func (d *doctor) jwks(ctx context.Context, hc *http.Client, jwksURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return "", errors.New("VISA_SIGNED_PAYLOAD_JWKS_URL does not make a request URL")
	}
	req.Header.Set("Accept", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("GET %s: %w", jwksURL, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d", jwksURL, res.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return "", fmt.Errorf("GET %s: not a JWKS: %w", jwksURL, err)
	}
	var kids []string
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			return "", fmt.Errorf("GET %s: key %q is not a public signing key with an id", jwksURL, k.KeyID)
		}
		kids = append(kids, k.KeyID+" "+k.Algorithm)
	}
	if len(kids) == 0 {
		return "", fmt.Errorf("GET %s: the JWKS holds no key", jwksURL)
	}
	return fmt.Sprintf("%d key(s): %s", len(kids), strings.Join(kids, ", ")), nil
}
