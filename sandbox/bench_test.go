package sandbox

import (
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

var benchSeq atomic.Int64

// purchase runs the four purchase endpoints for one authenticated amount:
// instruction create, credentials, merchant authorization, confirmation.
func (w *wire) purchase(tok, device, blob, ident, amount string) {
	w.t.Helper()
	r := w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tok, device, blob, ident, amount, nil))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	ins := r.body["instructionId"].(string)
	ref := "T-" + strconv.FormatInt(benchSeq.Add(1), 10)
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ref, amount))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	var claims SignedPayloadClaims
	require.NoError(w.t, w.sb.signer.verify(r.body["signedPayload"].(string), &claims))
	dd := claims.DynamicData[0]
	r = w.merchant(merchantBody(dd, amount))
	require.Equal(w.t, "00", r.body["responseCode"], string(r.raw))
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations",
		confirmBody(ins, ref, dd.DynamicDataID, "APPROVED", "00", amount, w.epoch()))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
}

// BenchmarkPurchaseEndpoints measures one purchase over loopback HTTP:
// instruction create, credentials, merchant authorization and
// confirmation, each signed (X-Pay) and, on VIC, MLE-encrypted both ways.
// The passkey assertion (iFrame session, attestation options, ceremony) is
// made with the timer stopped.
func BenchmarkPurchaseEndpoints(b *testing.B) {
	sb := Start(b, WithPlainHTTP())
	w := newWire(b, sb, jwe.EncA128GCM)
	tok, device := w.onboard(CardHappy)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		blob, ident := w.assertion(tok, device, "25.00", "Best Buy")
		b.StartTimer()
		w.purchase(tok, device, blob, ident, "25.00")
	}
}

// BenchmarkPurchaseFlowParallel measures whole purchases, passkey assertion
// included, from concurrent clients (GOMAXPROCS goroutines), each with its
// own token and device.
func BenchmarkPurchaseFlowParallel(b *testing.B) {
	sb := Start(b, WithPlainHTTP())
	type card struct{ tok, device string }
	n := runtime.GOMAXPROCS(0)
	cards := make(chan card, n)
	w0 := newWire(b, sb, jwe.EncA128GCM)
	for range n {
		tok, device := w0.onboard(CardHappy)
		cards <- card{tok, device}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := newWire(b, sb, jwe.EncA128GCM)
		c := <-cards
		tok, device := c.tok, c.device
		for pb.Next() {
			blob, ident := w.assertion(tok, device, "25.00", "Best Buy")
			w.purchase(tok, device, blob, ident, "25.00")
		}
	})
}

// BenchmarkMerchantAuthorize measures the merchant authorizer alone (no
// X-Pay, no MLE): a declined unknown card.
func BenchmarkMerchantAuthorize(b *testing.B) {
	sb := Start(b, WithPlainHTTP())
	w := newWire(b, sb, jwe.EncA128GCM)
	body := mustJSON(b, merchantBody(DynamicData{PaymentToken: "4895370000000000", TokenExpirationMonth: "12",
		TokenExpirationYear: "2029", DynamicDataValue: "123", TransactionReferenceID: "T-b"}, "1.00"))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := w.send(http.MethodPost, "/sandbox/v1/merchant/authorizations", "", body, nil)
		if r.status != http.StatusOK {
			b.Fatal(r.status)
		}
	}
}
