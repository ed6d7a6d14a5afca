package sandbox

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHappyPathEndToEnd(t *testing.T) {
	t.Parallel()
	sb := Start(t)
	w := newWire(t, sb, "A128GCM")
	tokenID, device := w.onboard(CardHappy)
	ins := w.instruct(tokenID, device, "129.99")
	claims := w.credentials(ins, tokenID, ins, "129.99")
	require.Len(t, claims.DynamicData, 1)
	dd := claims.DynamicData[0]
	assert.Equal(t, dd.PaymentToken, dd.Token.PaymentToken)
	r := w.merchant(merchantBody(dd, "129.99"))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "APPROVED", r.body["status"])
	assert.Equal(t, "00", r.body["responseCode"])
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations",
		confirmBody(ins, ins, dd.DynamicDataID, "APPROVED", "00", "129.99", w.epoch()))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, ins, r.body["instructionId"])
	assert.Equal(t, 1, sb.ChargesFor(ins))
	assert.NotEmpty(t, r.header.Get(correlationHeader))
}
