package fuzz

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/jwe"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/test/reliability"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// The parsers have their own fuzz targets in their packages (see
// docs/reliability.md). These targets feed arbitrary responses through the
// real clients end to end: whatever a server (or a man in the middle)
// answers, a call returns a result or a typed error, never panics, never
// hangs, and never puts a secret in the error.

// cannedServer answers every request with the status and body last set.
type cannedServer struct {
	mu     sync.Mutex
	status int
	header http.Header
	body   []byte
	srv    *httptest.Server
}

func newCannedServer(f *testing.F) *cannedServer {
	c := &cannedServer{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.mu.Lock()
		status, body := c.status, c.body
		for k, v := range c.header {
			w.Header()[k] = v
		}
		c.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(c.srv.Close)
	return c
}

func (c *cannedServer) set(status int, header http.Header, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status, c.header, c.body = status, header, body
}

// fuzzStatus maps an arbitrary number to an HTTP status the net/http
// server can write.
func fuzzStatus(s uint16) int {
	statuses := []int{200, 201, 202, 204, 301, 302, 307, 400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 502, 503, 504}
	return statuses[int(s)%len(statuses)]
}

// checkFuzzErr fails unless err is nil or typed, and secret-free.
func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if reliability.ErrorClass(err) == "" {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	msg := err.Error()
	for _, s := range []string{sandbox.VTSAPIKey, sandbox.VICAPIKey, sandbox.VTSSharedSecret, sandbox.VICSharedSecret} {
		if strings.Contains(msg, s) {
			t.Fatalf("error shows a secret: %v", err)
		}
	}
	if len(msg) > 2048 {
		t.Fatalf("error is %d bytes: %.600s", len(msg), msg)
	}
}

func fuzzConfig(url string) visa.Config {
	cfg := sandboxConfig()
	cfg.VTSBaseURL, cfg.VICBaseURL, cfg.AuthBaseURL = url, url, url
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 1}
	cfg.Timeout = 5 * time.Second
	cfg.MaxResponseBytes = 64 << 10
	return cfg
}

var fuzzBodies = []string{
	`{"vProvisionedTokenID":"TOK-1","tokenInfo":{"tokenStatus":"ACTIVE","last4":"1234","expirationDate":{"month":"12","year":"2030"}}}`,
	`{"errorResponse":{"status":400,"reason":"invalidParameter","message":"bad","details":[{"location":"x"}]}}`,
	`{"responseStatus":{"status":429,"code":"RATE_LIMITED","severity":"ERROR","message":"slow down","info":""}}`,
	`{"tokenInfo":{"expirationDate":{"month":12,"year":2030}}}`,
	`{"malformed":`, ``, `null`, `[]`, `"x"`, `{"encData":"a.b.c.d.e"}`,
}

// FuzzVTSResponse: a VTS read and a VTS write against arbitrary answers.
func FuzzVTSResponse(f *testing.F) {
	srv := newCannedServer(f)
	c, err := vts.New(fuzzConfig(srv.srv.URL))
	if err != nil {
		f.Fatal(err)
	}
	for i, b := range fuzzBodies {
		f.Add(uint16(i), "", []byte(b))
	}
	f.Add(uint16(15), "7", []byte(fuzzBodies[2]))
	f.Fuzz(func(t *testing.T, status uint16, retryAfter string, body []byte) {
		h := http.Header{"Content-Type": {"application/json"}, "X-Correlation-Id": {"fuzz"}}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		srv.set(fuzzStatus(status), h, body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: "TOK-1"})
		checkFuzzErr(t, err)
		_, err = c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: "TOK-1"})
		checkFuzzErr(t, err)
	})
}

// FuzzVICResponse: a VIC call whose answer is an arbitrary plaintext,
// properly MLE-encrypted to the client (so the JSON decoding behind the
// decryption is what is fuzzed), or an arbitrary raw body.
func FuzzVICResponse(f *testing.F) {
	// A throwaway MLE key pair from testdata: generating RSA keys under the
	// fuzzer's coverage instrumentation takes minutes per worker.
	keyPEM, err := os.ReadFile("testdata/mle-client-key.pem")
	if err != nil {
		f.Fatal(err)
	}
	certPEM, err := os.ReadFile("testdata/mle-server-cert.pem")
	if err != nil {
		f.Fatal(err)
	}
	priv, err := jwe.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := jwe.NewMLEEncrypter(&priv.PublicKey, sandbox.MLEKeyID, jwe.EncA128GCM)
	if err != nil {
		f.Fatal(err)
	}
	srv := newCannedServer(f)
	cfg := fuzzConfig(srv.srv.URL)
	cfg.VIC = visa.VICCredentials{APIKey: visa.NewSecret(sandbox.VICAPIKey), SharedSecret: visa.NewSecret(sandbox.VICSharedSecret),
		MLEKeyID: sandbox.MLEKeyID, MLEServerCertPEM: certPEM, MLEClientPrivateKeyPEM: visa.NewSecret(string(keyPEM)),
		MLEEnc: visa.MLEEncA128GCM, ExternalClientID: sandbox.ExternalClientID, ExternalAppID: sandbox.ClientAppID}
	c, err := vic.New(cfg, vic.WithoutVerification())
	if err != nil {
		f.Fatal(err)
	}
	for i, b := range []string{
		`{"clientReferenceId":"CR-1","instructionId":"INS-1","status":"CANCELLED"}`,
		`{"responseStatus":{"status":404,"code":"INSTRUCTION_NOT_FOUND","severity":"ERROR","message":"no","info":""}}`,
		`{"instructionId":1}`, `{`, ``,
	} {
		f.Add(uint16(i), true, []byte(b))
		f.Add(uint16(i), false, []byte(b))
	}
	ai := appInstance()
	runVIC = func(t *testing.T, status uint16, encrypt bool, body []byte) {
		out := body
		if encrypt {
			compact, err := enc.Encrypt(body, time.Now())
			if err != nil {
				t.Skip("plaintext the encrypter refuses")
			}
			out = jwe.MarshalEnvelope(compact)
		}
		srv.set(fuzzStatus(status), http.Header{"Content-Type": {"application/json"}}, out)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.CancelInstruction(ctx, vic.CancelRequest{InstructionID: "INS-1", AppInstance: ai})
		checkFuzzErr(t, err)
	}
	f.Fuzz(runVIC)
}

var runVIC func(t *testing.T, status uint16, encrypt bool, body []byte)

// FuzzAuthFrameAnswer: the Direct frame's session opening against
// arbitrary iFrame answers.
func FuzzAuthFrameAnswer(f *testing.F) {
	srv := newCannedServer(f)
	d, err := authframe.NewDirect(fuzzConfig(srv.srv.URL))
	if err != nil {
		f.Fatal(err)
	}
	for i, b := range []string{
		`{"type":"AUTH_SESSION_CREATED","requestID":"R","sessionContext":{"secureToken":"st"},"dfpSessionID":"d","browserData":{}}`,
		`{"type":"AUTH_FAILED","error":"SESSION_CONSUMED"}`,
		`{"type":"AUTH_READY"}`, `"{\"type\":\"AUTH_COMPLETE\"}"`, `{`, ``,
	} {
		f.Add(uint16(i), []byte(b))
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		srv.set(fuzzStatus(status), http.Header{"Content-Type": {"application/json"}}, body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := d.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceID})
		checkFuzzErr(t, err)
		if err == nil && s == nil {
			t.Fatal("no session and no error")
		}
	})
}

// FuzzMerchantAnswer: the sandbox merchant's lookup against arbitrary
// answers.
func FuzzMerchantAnswer(f *testing.F) {
	srv := newCannedServer(f)
	m, err := agenttest.NewSandboxMerchant(srv.srv.URL+"/sandbox/v1/merchant/authorizations", fuzzConfig(srv.srv.URL))
	if err != nil {
		f.Fatal(err)
	}
	for i, b := range []string{
		`{"status":"APPROVED","responseCode":"00","authorizationCode":"A1","transactionTimestamp":"1767225600"}`,
		`{"status":"DECLINED","responseCode":"51","declineReason":"INSUFFICIENT_FUNDS"}`,
		`{"status":"MAYBE"}`, `{`, ``,
	} {
		f.Add(uint16(i), []byte(b))
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		srv.set(fuzzStatus(status), http.Header{"Content-Type": {"application/json"}}, body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := m.Lookup(ctx, "REF-1")
		checkFuzzErr(t, err)
		if err == nil && (a == nil || (a.Status != "APPROVED" && a.Status != "DECLINED")) {
			t.Fatalf("accepted an answer without a status: %+v", a)
		}
	})
}

// FuzzCallerInput: whatever a caller types as a PAN, CVV2, OTP or amount,
// the constructors accept a valid value or refuse with
// visa.ErrInvalidInput, and a refusal never repeats a run of digits that
// could be a card number or a code.
func FuzzCallerInput(f *testing.F) {
	for _, s := range [][2]string{{"4111111111111111", "USD"}, {"-1.00", "USD"}, {"1.2.3", "EUR"}, {"123", "ZZZ"}, {"456789", "840"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, currency string) {
		errs := map[string]error{}
		_, errs["PAN"] = visa.ParsePAN(s)
		_, errs["CVV2"] = visa.ParseCVV2(s)
		_, errs["OTP"] = visa.ParseOTP(s)
		_, errs["amount"] = visa.ParseAmount(s, currency)
		for what, err := range errs {
			if err == nil {
				continue
			}
			if !errors.Is(err, visa.ErrInvalidInput) {
				t.Fatalf("%s %q: untyped error %v", what, s, err)
			}
			if what != "amount" && len(s) >= 5 && strings.Trim(s, "0123456789") == "" && strings.Contains(err.Error(), s) {
				t.Fatalf("%s %q: the error repeats the input: %v", what, s, err)
			}
		}
	})
}

// sandboxConfig is the sandbox's credentials without a running sandbox.
func sandboxConfig() visa.Config {
	return visa.Config{
		VTS: visa.VTSCredentials{APIKey: visa.NewSecret(sandbox.VTSAPIKey), SharedSecret: visa.NewSecret(sandbox.VTSSharedSecret),
			ClientAppID: sandbox.ClientAppID, ClientWalletAccountID: sandbox.ClientWalletAccountID,
			EncAPIKey: visa.NewSecret(sandbox.EncAPIKey), EncSharedSecret: visa.NewSecret(sandbox.EncSharedSecret),
			HashSecret: visa.NewSecret(sandbox.HashSecret)},
	}
}

func appInstance() visa.AppInstance {
	return visa.AppInstance{ClientDeviceID: deviceID, UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Reliability Agent",
		CountryCode: "US", IPAddress: "203.0.113.7", DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"}}
}

const deviceID = "device-00000000000000001"
