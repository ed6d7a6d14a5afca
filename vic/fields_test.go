package vic

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// TestElementFieldNames pins the field names of refusals inside list
// elements, at indexes other than 0 and in nested parts: they are built
// only when a check fails, and must read exactly as they always have.
func TestElementFieldNames(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	usd := visa.MustParseAmount("10.00", "USD")
	tx := func(i int) TransactionData {
		return TransactionData{TransactionReferenceID: "T-" + strconv.Itoa(i), Amount: usd, MerchantName: "Best Buy",
			MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}
	}
	creds := func(mut func(r *CredentialsRequest)) error {
		r := CredentialsRequest{InstructionID: "INS-1", TokenID: "TOK-1", Transactions: []TransactionData{tx(0), tx(1), tx(2)}}
		mut(&r)
		_, err := c.credentialsBody(r)
		return err
	}
	cf := func(i int) Confirmation {
		return Confirmation{TransactionReferenceID: "T-" + strconv.Itoa(i), DynamicDataID: "DD-1", Status: TransactionApproved, Amount: usd}
	}
	confirm := func(mut func(r *ConfirmRequest)) error {
		r := ConfirmRequest{ClientReferenceID: "CR-1", InstructionID: "INS-1", Confirmations: []Confirmation{cf(0), cf(1)}}
		mut(&r)
		_, err := c.confirmBody(r)
		return err
	}
	md := Mandate{Description: "Headphones", DeclineThreshold: usd}
	create := func(mut func(r *CreateInstructionRequest)) error {
		r := CreateInstructionRequest{ConsumerID: "user-1", TokenID: "TOK-1", AppInstance: testAppInstance(), Assurance: testAssurance(t),
			DFPSessionID: "DFP-1", Mandates: []Mandate{md, md}}
		mut(&r)
		_, err := c.instructionBody(r, "INS-1")
		return err
	}
	consent := Consent{ID: "C-1", Type: "PERSONALIZATION", Source: "CLIENT", AcceptedAt: t0}
	enroll := func(mut func(r *EnrollCardRequest)) error {
		r := EnrollCardRequest{TokenID: "TOK-1", DFPSessionID: "DFP-1", Assurance: testAssurance(t), AppInstance: testAppInstance(),
			Consumer: Consumer{ConsumerID: "user-1", Email: "a@example.com", CountryCode: "US", LanguageCode: "en"},
			Consents: []Consent{consent, consent}}
		mut(&r)
		_, err := c.enrollBody(r)
		return err
	}
	for _, tc := range []struct {
		want string // the whole error line
		err  error
	}{
		{"Transactions[2].TransactionReferenceID: is too long", creds(func(r *CredentialsRequest) { r.Transactions[2].TransactionReferenceID = string(make([]byte, 65)) })},
		{"Transactions[1].MerchantName: is required", creds(func(r *CredentialsRequest) { r.Transactions[1].MerchantName = "" })},
		{"Transactions[2].MerchantURL: must use https", creds(func(r *CredentialsRequest) { r.Transactions[2].MerchantURL = "ftp://example.com/" })},
		{"Transactions[1].MerchantCountryCode: must be an ISO 3166-1 alpha-2 code such as US", creds(func(r *CredentialsRequest) { r.Transactions[1].MerchantCountryCode = "usa" })},
		{"Transactions[2].TransactionReferenceID: is repeated", creds(func(r *CredentialsRequest) { r.Transactions[2].TransactionReferenceID = "T-0" })},
		{"Transactions[1].Amount: is required and must be above zero", creds(func(r *CredentialsRequest) { r.Transactions[1].Amount = visa.Amount{} })},
		{"Transactions[2].MandateIDs[1]: must be visible ASCII without spaces", creds(func(r *CredentialsRequest) { r.Transactions[2].MandateIDs = []string{"M-1", "M 2"} })},
		{"Transactions[1].ShippingAddress.Zip: is too long", creds(func(r *CredentialsRequest) {
			r.Transactions[1].ShippingAddress = &Address{Zip: string(make([]byte, 33))}
		})},
		{"Transactions[2].ShippingAddress.CountryCode: must be an ISO 3166-1 alpha-2 code such as US", creds(func(r *CredentialsRequest) {
			r.Transactions[2].ShippingAddress = &Address{CountryCode: "X"}
		})},
		{"Transactions[1].ShippingAddress.Contact.Email: must be an email address such as alice@example.com", creds(func(r *CredentialsRequest) {
			r.Transactions[1].ShippingAddress = &Address{Contact: &Contact{Email: "nobody"}}
		})},
		{"Confirmations[1].ResponseCode: is too long", confirm(func(r *ConfirmRequest) { r.Confirmations[1].ResponseCode = "123456789" })},
		{"Confirmations[1].Order.Status: is too long", confirm(func(r *ConfirmRequest) { r.Confirmations[1].Order = &Order{Status: string(make([]byte, 33))} })},
		{"Confirmations[1].Shipping.Address.Contact.FullName: must not hold control characters", confirm(func(r *ConfirmRequest) {
			r.Confirmations[1].Shipping = &Shipping{Address: &Address{Contact: &Contact{FullName: "a\tb"}}}
		})},
		{"Confirmations[1].Status: must be APPROVED or DECLINED", confirm(func(r *ConfirmRequest) { r.Confirmations[1].Status = "MAYBE" })},
		{"Confirmations[1].Amount: is required", confirm(func(r *ConfirmRequest) { r.Confirmations[1].Amount = visa.Amount{} })},
		{"Mandates[1].Description: is required", create(func(r *CreateInstructionRequest) { r.Mandates[1].Description = "" })},
		{"Mandates[1].Quantity: must be between 0 and 100", create(func(r *CreateInstructionRequest) { r.Mandates[1].Quantity = 101 })},
		{"Mandates[1].MerchantCategoryCode: must be 4 digits", create(func(r *CreateInstructionRequest) { r.Mandates[1].MerchantCategoryCode = "12a4" })},
		{"Consents[1].Source: is required", enroll(func(r *EnrollCardRequest) { r.Consents[1].Source = "" })},
		{"Consents[1].AcceptedAt: is required", enroll(func(r *EnrollCardRequest) { r.Consents[1].AcceptedAt = time.Time{} })},
	} {
		require.Error(t, tc.err, tc.want)
		assert.ErrorIs(t, tc.err, visa.ErrInvalidInput)
		assert.Equal(t, "visa: invalid input: "+tc.want, tc.err.Error())
	}
}

// TestCredentialsBodyAllocs: building a valid request of 16 transactions
// makes no field-name strings and grows no slice: the body, its
// transactions (one allocation each), and each amount's decimal string.
func TestCredentialsBodyAllocs(t *testing.T) {
	if raceOn {
		t.Skip("the race detector changes allocations")
	}
	f := newFakeVIC(t)
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	req := CredentialsRequest{ClientReferenceID: "CR-1", InstructionID: "INS-1", TokenID: "TOK-1"}
	for i := range maxTransactions {
		req.Transactions = append(req.Transactions, TransactionData{TransactionReferenceID: "T-16-" + strconv.Itoa(i),
			Amount: visa.MustParseAmount("1.00", "USD"), MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"})
	}
	n := testing.AllocsPerRun(50, func() {
		if _, err := c.credentialsBody(req); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, n, float64(2+maxTransactions), "allocations per 16-transaction body")
}
