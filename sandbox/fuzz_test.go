package sandbox

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// fuzzRoutes are the JSON endpoints a fuzzed body is sent to.
var fuzzRoutes = []struct {
	method, path string
	vic          bool
}{
	{"POST", "/vts/panEnrollments", false},
	{"POST", "/vts/panEnrollments/ENR-x/provisionedTokens", false},
	{"POST", "/vts/provisionedTokens", false},
	{"PUT", "/vts/provisionedTokens/TOK-x/delete", false},
	{"PUT", "/vts/provisionedTokens/TOK-x/suspend", false},
	{"POST", "/vts/provisionedTokens/TOK-x/attestation/options", false},
	{"POST", "/vts/provisionedTokens/TOK-x/deviceBinding", false},
	{"PUT", "/vts/provisionedTokens/TOK-x/stepUpOptions/method", false},
	{"POST", "/vts/provisionedTokens/TOK-x/stepUpOptions/validateOTP", false},
	{"POST", "/vacp/v1/cards", true},
	{"POST", "/vacp/v1/instructions", true},
	{"PUT", "/vacp/v1/instructions/INS-x", true},
	{"PUT", "/vacp/v1/instructions/INS-x/cancel", true},
	{"POST", "/vacp/v1/instructions/INS-x/credentials", true},
	{"POST", "/vacp/v1/instructions/INS-x/confirmations", true},
	{"POST", "/sandbox/v1/merchant/authorizations", false},
	{"POST", "/sandbox/v1/admin/faults", false},
}

// FuzzHandlers sends arbitrary, correctly signed (and for VIC encrypted)
// bodies to every JSON endpoint: no input may panic or produce a 5xx.
func FuzzHandlers(f *testing.F) {
	sb := shared(&testing.T{})
	w := newWire(f, sb, jwe.EncA128GCM)
	for _, seed := range []any{
		enrollBody(w, CardHappy), provisionBody(w), attestBody(w, "st", "AUTHENTICATE", "1.00", "Best Buy"),
		bindingBody(w, "st", "CR-1"), stepUpBody(w, "CR-1", "SU-1"), otpBody(w, "CR-1", "456789"),
		enrollCardBody(w, "TOK-x", newDevice(), assuranceObj(w, BlobAttestation, "b", "i")),
		instructionBody(w, "TOK-x", newDevice(), "b", "i", "1.00", nil), credentialsBody("TOK-x", "T", "1.00"),
		confirmBody("INS-x", "T", "DD", "APPROVED", "00", "1.00", "1767225600"),
		merchantBody(DynamicData{PaymentToken: "4895370000000000", DynamicDataValue: "123"}, "1.00"),
		map[string]any{"updateReason": map[string]any{"reasonCode": "X"}},
		map[string]any{"rules": []any{map[string]any{"kind": map[string]any{"type": "latency", "delay": 5}}}},
	} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), mustJSON(f, seed))
		}
	}
	f.Add(uint8(0), []byte(`{"a":null,"encPaymentInstrument":null}`))
	f.Add(uint8(10), []byte(`{"mandates":[null],"assuranceData":[{"methodResults":null}]}`))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		if rt.path == "/sandbox/v1/admin/faults" {
			defer sb.ClearFaults()
			// Keep the recorder usable (no hijack) and the run quick (no sleep).
			body = bytes.ReplaceAll(body, []byte("reset"), []byte("xxxxx"))
			body = bytes.ReplaceAll(body, []byte("latency"), []byte("xxxxxxx"))
		}
		q, secret, wire := "apikey="+VTSAPIKey, VTSSharedSecret, body
		if rt.vic {
			q, secret = "apikey="+VICAPIKey, VICSharedSecret
			compact, err := w.mleEnc.Encrypt(body, sb.Clock().Now())
			if err != nil {
				t.Fatal(err)
			}
			wire = jwe.MarshalEnvelope(compact)
		}
		req := httptest.NewRequest(rt.method, rt.path+"?"+q, bytes.NewReader(wire))
		req.Header.Set("x-pay-token", xpay.Sign(secret, sb.Clock().Now().Unix(), xpay.ResourcePath(rt.path), q, wire))
		req.Header.Set("keyId", MLEKeyID)
		rec := httptest.NewRecorder()
		sb.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", rt.method, rt.path, rec.Code, rec.Body.String())
		}
		if rec.Header().Get(correlationHeader) == "" {
			t.Fatal("no correlation id")
		}
		if rt.path != "/sandbox/v1/admin/faults" && rec.Code != http.StatusOK && rec.Code < 400 {
			t.Fatalf("odd status %d", rec.Code)
		}
	})
}
