package storetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

func testUsers(t *testing.T, e *env) {
	_, err := e.s.GetUser(e.ctx, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)

	u := user("alice")
	created := store.Stamp(e.clock.Peek())
	require.NoError(t, e.s.PutUser(e.ctx, u))
	got, err := e.s.GetUser(e.ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, u, noTimes(got))
	sameTime(t, created, got.CreatedAt, "CreatedAt")
	sameTime(t, created, got.UpdatedAt, "UpdatedAt")

	// Replace: new values, CreatedAt kept, UpdatedAt moves.
	u.Email, u.Country, u.Language = "alice@example.org", "GB", "en-GB"
	updated := store.Stamp(e.clock.Peek())
	require.NoError(t, e.s.PutUser(e.ctx, u))
	got, err = e.s.GetUser(e.ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, u, noTimes(got))
	sameTime(t, created, got.CreatedAt, "CreatedAt after replace")
	sameTime(t, updated, got.UpdatedAt, "UpdatedAt after replace")

	// Optional fields may be empty.
	require.NoError(t, e.s.PutUser(e.ctx, store.User{ID: "bob", Email: "bob@example.com"}))
	got, err = e.s.GetUser(e.ctx, "bob")
	require.NoError(t, err)
	assert.Equal(t, store.User{ID: "bob", Email: "bob@example.com"}, noTimes(got))
}

func testUserValidation(t *testing.T, e *env) {
	cases := []struct {
		name, field string
		mut         func(u *store.User)
	}{
		{"no id", "ID", func(u *store.User) { u.ID = "" }},
		{"id with space", "ID", func(u *store.User) { u.ID = panLike }},
		{"id too long", "ID", func(u *store.User) { u.ID = strings.Repeat("x", store.MaxIDLen+1) }},
		{"no email", "Email", func(u *store.User) { u.Email = "" }},
		{"email without at", "Email", func(u *store.User) { u.Email = "carol.example.com" }},
		{"email with space", "Email", func(u *store.User) { u.Email = "carol @example.com" }},
		{"country lower case", "Country", func(u *store.User) { u.Country = "us" }},
		{"country alpha-3", "Country", func(u *store.User) { u.Country = "USA" }},
		{"language", "Language", func(u *store.User) { u.Language = "e" }},
		{"language junk", "Language", func(u *store.User) { u.Language = "en_US" }},
	}
	for _, c := range cases {
		u := user("carol")
		c.mut(&u)
		err := e.s.PutUser(e.ctx, u)
		isValidation(t, err, c.field)
		noEcho(t, err)
	}
	_, err := e.s.GetUser(e.ctx, "carol")
	assert.ErrorIs(t, err, store.ErrNotFound, "a refused user was written")
	_, err = e.s.GetUser(e.ctx, "")
	isValidation(t, err, "ID")
}

func testCards(t *testing.T, e *env) {
	c := card("alice", "tok-1")
	err := e.s.PutCard(e.ctx, c)
	require.ErrorIs(t, err, store.ErrNotFound, "a card needs its user")
	_, err = e.s.GetCard(e.ctx, "tok-1")
	require.ErrorIs(t, err, store.ErrNotFound)

	e.seed(t, "alice", "")
	created := store.Stamp(e.clock.Peek())
	require.NoError(t, e.s.PutCard(e.ctx, c))
	got, err := e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, c, noTimes(got))
	sameTime(t, created, got.CreatedAt, "CreatedAt")

	// Replace keeps CreatedAt; an empty VICEnrollment reads back as NONE.
	c.CardArtURL, c.TokenReferenceID, c.VICEnrollment = "", "", ""
	c.ExpiryMonth, c.ExpiryYear, c.TokenStatus = 1, 2031, store.TokenActive
	require.NoError(t, e.s.PutCard(e.ctx, c))
	got, err = e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err)
	c.VICEnrollment = store.VICNone
	assert.Equal(t, c, noTimes(got))
	sameTime(t, created, got.CreatedAt, "CreatedAt after replace")
	assert.True(t, got.UpdatedAt.After(got.CreatedAt))

	c.VICEnrollment = store.VICEnrolled
	require.NoError(t, e.s.PutCard(e.ctx, c))
	got, err = e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, store.VICEnrolled, got.VICEnrollment)

	// A card never changes owner.
	e.seed(t, "bob", "")
	err = e.s.PutCard(e.ctx, card("bob", "tok-1"))
	require.ErrorIs(t, err, store.ErrConflict)
	got, err = e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, "alice", got.UserID)
}

func testCardValidation(t *testing.T, e *env) {
	e.seed(t, "alice", "")
	cases := []struct {
		name, field string
		mut         func(c *store.Card)
	}{
		{"no token", "TokenID", func(c *store.Card) { c.TokenID = "" }},
		{"token id with spaces", "TokenID", func(c *store.Card) { c.TokenID = panLike }},
		{"no user", "UserID", func(c *store.Card) { c.UserID = "" }},
		{"token reference with spaces", "TokenReferenceID", func(c *store.Card) { c.TokenReferenceID = panLike }},
		{"last4 short", "Last4", func(c *store.Card) { c.Last4 = "111" }},
		{"last4 is a PAN", "Last4", func(c *store.Card) { c.Last4 = "4111111111111111" }},
		{"last4 letters", "Last4", func(c *store.Card) { c.Last4 = "11a1" }},
		{"month 0", "ExpiryMonth", func(c *store.Card) { c.ExpiryMonth = 0 }},
		{"month 13", "ExpiryMonth", func(c *store.Card) { c.ExpiryMonth = 13 }},
		{"year two digits", "ExpiryYear", func(c *store.Card) { c.ExpiryYear = 29 }},
		{"art not a URL", "CardArtURL", func(c *store.Card) { c.CardArtURL = "art.png" }},
		{"art javascript", "CardArtURL", func(c *store.Card) { c.CardArtURL = "javascript:alert(1)" }},
		{"no status", "TokenStatus", func(c *store.Card) { c.TokenStatus = "" }},
		{"unknown status", "TokenStatus", func(c *store.Card) { c.TokenStatus = "GONE" }},
		{"unknown enrollment", "VICEnrollment", func(c *store.Card) { c.VICEnrollment = "MAYBE" }},
	}
	for _, cs := range cases {
		c := card("alice", "tok-bad")
		cs.mut(&c)
		err := e.s.PutCard(e.ctx, c)
		isValidation(t, err, cs.field)
		noEcho(t, err)
	}
	assert.Empty(t, collect(t, e.s.ListCards(e.ctx, "alice")), "a refused card was written")
}

func testCardStatusCAS(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	_, err := e.s.UpdateCardStatus(e.ctx, "tok-none", store.TokenInactive, store.TokenActive)
	require.ErrorIs(t, err, store.ErrNotFound)

	at := store.Stamp(e.clock.Peek())
	got, err := e.s.UpdateCardStatus(e.ctx, "tok-1", store.TokenInactive, store.TokenActive)
	require.NoError(t, err)
	assert.Equal(t, store.TokenActive, got.TokenStatus)
	sameTime(t, at, got.UpdatedAt, "UpdatedAt")

	// The same move again: the expected status no longer holds.
	_, err = e.s.UpdateCardStatus(e.ctx, "tok-1", store.TokenInactive, store.TokenActive)
	require.ErrorIs(t, err, store.ErrConflict)
	// Not a move, and unknown statuses.
	_, err = e.s.UpdateCardStatus(e.ctx, "tok-1", store.TokenActive, store.TokenActive)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = e.s.UpdateCardStatus(e.ctx, "tok-1", store.TokenActive, "GONE")
	require.ErrorIs(t, err, store.ErrInvalid)

	for _, step := range [][2]store.TokenStatus{
		{store.TokenActive, store.TokenSuspended},
		{store.TokenSuspended, store.TokenActive},
		{store.TokenActive, store.TokenDeleted},
	} {
		_, err = e.s.UpdateCardStatus(e.ctx, "tok-1", step[0], step[1])
		require.NoError(t, err, "%s → %s", step[0], step[1])
	}
	// Nothing leaves DELETED.
	_, err = e.s.UpdateCardStatus(e.ctx, "tok-1", store.TokenDeleted, store.TokenActive)
	require.ErrorIs(t, err, store.ErrConflict)
	got, err = e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, store.TokenDeleted, got.TokenStatus)
}

func testDeleteCard(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	require.NoError(t, e.s.PutCard(e.ctx, card("alice", "tok-2")))
	require.NoError(t, e.s.PutPasskey(e.ctx, passkey("alice", "tok-1", "dev-1")))
	require.NoError(t, e.s.PutPasskey(e.ctx, passkey("alice", "tok-2", "dev-1")))
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-1", "alice", "tok-1")))

	require.ErrorIs(t, e.s.DeleteCard(e.ctx, "tok-none"), store.ErrNotFound)
	require.NoError(t, e.s.DeleteCard(e.ctx, "tok-1"))
	_, err := e.s.GetCard(e.ctx, "tok-1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.ErrorIs(t, err, store.ErrNotFound, "the card's passkeys go with it")
	require.ErrorIs(t, e.s.DeleteCard(e.ctx, "tok-1"), store.ErrNotFound)

	// Others stay: the other card, its passkey, and the transaction history.
	_, err = e.s.GetCard(e.ctx, "tok-2")
	require.NoError(t, err)
	_, err = e.s.GetPasskey(e.ctx, "tok-2", "dev-1")
	require.NoError(t, err)
	_, err = e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)

	// The token id may be provisioned again.
	require.NoError(t, e.s.PutCard(e.ctx, card("alice", "tok-1")))
	assert.Empty(t, collect(t, e.s.ListPasskeys(e.ctx, "tok-1")))
}

func testPasskeys(t *testing.T, e *env) {
	p := passkey("alice", "tok-1", "dev-1")
	require.ErrorIs(t, e.s.PutPasskey(e.ctx, p), store.ErrNotFound, "a passkey needs its card")
	e.seed(t, "alice", "tok-1")
	e.seed(t, "bob", "tok-b")
	require.ErrorIs(t, e.s.PutPasskey(e.ctx, passkey("bob", "tok-1", "dev-1")), store.ErrConflict,
		"a passkey's user must own the card")

	_, err := e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.ErrorIs(t, err, store.ErrNotFound)
	created := store.Stamp(e.clock.Peek())
	require.NoError(t, e.s.PutPasskey(e.ctx, p))
	got, err := e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.NoError(t, err)
	assert.Equal(t, p, noTimes(got))
	sameTime(t, created, got.CreatedAt, "CreatedAt")
	_, err = e.s.GetPasskey(e.ctx, "tok-1", "dev-2")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Re-registration on the same device replaces; RPID may be empty.
	p.Identifier, p.SealedBlob, p.RPID = "ID-new", store.SealedBlob("sealed:new"), ""
	require.NoError(t, e.s.PutPasskey(e.ctx, p))
	got, err = e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.NoError(t, err)
	assert.Equal(t, p, noTimes(got))
	require.NoError(t, e.s.PutPasskey(e.ctx, passkey("alice", "tok-1", "dev-2")))
	assert.Len(t, collect(t, e.s.ListPasskeys(e.ctx, "tok-1")), 2)

	n, err := e.s.DeletePasskeys(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = e.s.DeletePasskeys(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Empty(t, collect(t, e.s.ListPasskeys(e.ctx, "tok-1")))
	_, err = e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err, "deleting passkeys keeps the card")
}

func testPasskeyValidation(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	cases := []struct {
		name, field string
		mut         func(p *store.Passkey)
	}{
		{"no user", "UserID", func(p *store.Passkey) { p.UserID = "" }},
		{"no token", "TokenID", func(p *store.Passkey) { p.TokenID = "" }},
		{"no device", "DeviceID", func(p *store.Passkey) { p.DeviceID = "" }},
		{"device with spaces", "DeviceID", func(p *store.Passkey) { p.DeviceID = panLike }},
		{"no identifier", "Identifier", func(p *store.Passkey) { p.Identifier = "" }},
		{"no blob", "SealedBlob", func(p *store.Passkey) { p.SealedBlob = nil }},
		{"blob too long", "SealedBlob", func(p *store.Passkey) { p.SealedBlob = make([]byte, store.MaxSealedBlobLen+1) }},
		{"rp id with spaces", "RPID", func(p *store.Passkey) { p.RPID = "local host" }},
	}
	for _, c := range cases {
		p := passkey("alice", "tok-1", "dev-1")
		c.mut(&p)
		err := e.s.PutPasskey(e.ctx, p)
		isValidation(t, err, c.field)
		noEcho(t, err)
	}
	assert.Empty(t, collect(t, e.s.ListPasskeys(e.ctx, "tok-1")), "a refused passkey was written")
}

func testTransactions(t *testing.T, e *env) {
	x := tx("tx-1", "alice", "tok-1")
	require.ErrorIs(t, e.s.CreateTransaction(e.ctx, x), store.ErrNotFound, "a transaction needs its user")
	e.seed(t, "alice", "tok-1")
	_, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.ErrorIs(t, err, store.ErrNotFound)

	created := store.Stamp(e.clock.Peek())
	require.NoError(t, e.s.CreateTransaction(e.ctx, x))
	got, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, x, noTimes(got))
	sameTime(t, created, got.CreatedAt, "CreatedAt")
	sameTime(t, created, got.UpdatedAt, "UpdatedAt")
	assert.True(t, got.CompletedAt.IsZero())
	assert.True(t, got.ConfirmedAt.IsZero())

	// A duplicate id is a conflict and changes nothing.
	dup := x
	dup.Amount = "1.00"
	require.ErrorIs(t, e.s.CreateTransaction(e.ctx, dup), store.ErrConflict)
	got, err = e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, "129.99", got.Amount)

	// Every field round trips, and one created final is completed at once.
	full := store.Transaction{
		ID: "tx-2", UserID: "alice", TokenID: "tok-1", InstructionID: "INS-0001",
		ClientReferenceID: "CR-2", TransactionReferenceID: "TR-2", MandateID: "m-2",
		Amount: "0", Currency: "EUR", MerchantName: "Café Ünïcode", MerchantURL: "http://127.0.0.1:8443/shop",
		Status: store.TxCancelled, ResponseCode: "05", AuthorizationCode: "A1B2C3",
		DynamicDataID: "DD-2", FailureReason: "user changed their mind", IdempotencyKey: "order-2", FailureCode: "cancelled",
	}
	require.NoError(t, e.s.CreateTransaction(e.ctx, full))
	got, err = e.s.GetTransaction(e.ctx, "tx-2")
	require.NoError(t, err)
	assert.Equal(t, full, noTimes(got))
	sameTime(t, got.CreatedAt, got.CompletedAt, "CompletedAt of a transaction created final")
}

func testTransactionValidation(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	cases := []struct {
		name, field string
		mut         func(x *store.Transaction)
	}{
		{"no id", "ID", func(x *store.Transaction) { x.ID = "" }},
		{"no user", "UserID", func(x *store.Transaction) { x.UserID = "" }},
		{"no token", "TokenID", func(x *store.Transaction) { x.TokenID = "" }},
		{"token is a PAN with spaces", "TokenID", func(x *store.Transaction) { x.TokenID = panLike }},
		{"instruction with spaces", "InstructionID", func(x *store.Transaction) { x.InstructionID = "INS 1" }},
		{"no amount", "Amount", func(x *store.Transaction) { x.Amount = "" }},
		{"negative amount", "Amount", func(x *store.Transaction) { x.Amount = "-1.00" }},
		{"amount with comma", "Amount", func(x *store.Transaction) { x.Amount = "1,00" }},
		{"amount 4 decimals", "Amount", func(x *store.Transaction) { x.Amount = "1.0000" }},
		{"amount leading zero", "Amount", func(x *store.Transaction) { x.Amount = "01.00" }},
		{"amount trailing dot", "Amount", func(x *store.Transaction) { x.Amount = "1." }},
		{"amount exponent", "Amount", func(x *store.Transaction) { x.Amount = "1e3" }},
		{"currency numeric", "Currency", func(x *store.Transaction) { x.Currency = "840" }},
		{"currency lower", "Currency", func(x *store.Transaction) { x.Currency = "usd" }},
		{"currency unknown", "Currency", func(x *store.Transaction) { x.Currency = "ZZZ" }},
		{"merchant name with PAN", "MerchantName", func(x *store.Transaction) { x.MerchantName = "shop " + panLike }},
		{"merchant name control", "MerchantName", func(x *store.Transaction) { x.MerchantName = "shop\x00" }},
		{"merchant URL", "MerchantURL", func(x *store.Transaction) { x.MerchantURL = "ftp://x" }},
		{"no status", "Status", func(x *store.Transaction) { x.Status = "" }},
		{"unknown status", "Status", func(x *store.Transaction) { x.Status = "DONE" }},
		{"failure reason with PAN", "FailureReason", func(x *store.Transaction) { x.FailureReason = "card 4111-1111-1111-1111 refused" }},
		{"failure reason too long", "FailureReason", func(x *store.Transaction) { x.FailureReason = strings.Repeat("x", store.MaxTextLen+1) }},
	}
	for _, c := range cases {
		x := tx("tx-bad", "alice", "tok-1")
		c.mut(&x)
		err := e.s.CreateTransaction(e.ctx, x)
		isValidation(t, err, c.field)
		noEcho(t, err)
	}
	assert.Empty(t, collect(t, e.s.ListTransactions(e.ctx, store.TxFilter{})), "a refused transaction was written")
}
