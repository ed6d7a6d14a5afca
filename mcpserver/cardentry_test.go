package mcpserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store/sqlite"
)

// pages serves a Server's PagesHandler on a local HTTP server, mounted
// under /pages, and records every page it answered.
type pages struct {
	ts      *httptest.Server
	handler atomic.Pointer[http.Handler]

	mu     sync.Mutex
	bodies []string
}

func newPages(t *testing.T) *pages {
	t.Helper()
	p := &pages{}
	p.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := p.handler.Load()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(p.ts.Close)
	return p
}

// serve mounts srv's pages.
func (p *pages) serve(srv *mcpserver.Server) {
	h := http.Handler(http.StripPrefix("/pages", srv.PagesHandler()))
	p.handler.Store(&h)
}

func (p *pages) publicURL() string { return p.ts.URL + "/pages" }

// pageReply is one answer of the card-entry page.
type pageReply struct {
	status int
	header http.Header
	body   string
}

// do sends req and records the page.
func (p *pages) do(t *testing.T, req *http.Request) pageReply {
	t.Helper()
	res, err := p.ts.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	p.mu.Lock()
	p.bodies = append(p.bodies, string(body))
	p.mu.Unlock()
	return pageReply{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (p *pages) get(t *testing.T, link string) pageReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	return p.do(t, req)
}

// post submits the card form to link as the page's own browser tab would
// (same-origin fetch metadata), with extra headers.
func (p *pages) post(t *testing.T, link string, form url.Values, header map[string]string) pageReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return p.do(t, req)
}

func (p *pages) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// cardForm is the card-entry form as the shopper fills it.
func cardForm(pan, cvv2 string) url.Values {
	return url.Values{"pan": {pan}, "cvv2": {cvv2}, "month": {"12"}, "year": {strconv.Itoa(time.Now().Year() + 3)}, "name": {"Alice Doe"}}
}

// assertPageHeaders checks the security headers every page carries.
func assertPageHeaders(t *testing.T, r pageReply) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		assert.Contains(t, csp, d)
	}
	assert.NotContains(t, csp, "script-src", "the page runs no script")
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
	assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
}

// newPagesEnv is an env whose server offers card-entry links served by p.
func newPagesEnv(t *testing.T, opts ...mcpserver.Option) (*env, *pages) {
	t.Helper()
	p := newPages(t)
	e := newEnv(t, append([]mcpserver.Option{mcpserver.WithPublicURL(p.publicURL())}, opts...)...)
	p.serve(e.srv)
	return e, p
}

// TestCardEntryPage walks a one-time card-entry link: the form, bad input
// (named, never echoed, the link still usable), refused cross-site and
// oversized posts, a valid card that starts the journey (which then moves
// through add-card-continue to COMPLETED), and no second use.
func TestCardEntryPage(t *testing.T) {
	t.Parallel()
	e, p := newPagesEnv(t)
	u := newUser(80)
	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args()})
	require.Equal(t, mcpserver.StatusCardEntryRequired, r.Status, "%+v", r)
	require.True(t, strings.HasPrefix(r.CardEntryURL, p.publicURL()+"/card/"), r.CardEntryURL)
	assert.NotEmpty(t, r.ExpiresAt)
	link := r.CardEntryURL

	// Before the card: add-card-continue says so and answers nothing.
	wait := ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID})
	assert.Equal(t, mcpserver.StatusCardEntryRequired, wait.Status)
	assert.Contains(t, fails(t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": "123456"}), "waits for the card")

	form := p.get(t, link)
	require.Equal(t, http.StatusOK, form.status)
	assertPageHeaders(t, form)
	assert.Contains(t, form.body, `<form method="post" autocomplete="off">`)
	assert.Contains(t, form.body, `name="pan"`)

	// Bad input: every field named, no value echoed, nothing started.
	badPAN, badCVV := "4111111111111112", "83"
	bad := p.post(t, link, url.Values{"pan": {badPAN}, "cvv2": {badCVV}, "month": {"13"}, "year": {"1999"}}, nil)
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	assertPageHeaders(t, bad)
	for _, want := range []string{"Card number: must be a valid card number", "Security code: must be 3 or 4 digits",
		"Expiry month: must be 1 to 12", "Expiry year: must be a four-digit year"} {
		assert.Contains(t, bad.body, want)
	}
	assert.NotContains(t, bad.body, "value=", "the form is not refilled with what was typed")
	expired := cardForm(testPAN, testCVV2)
	expired.Set("year", strconv.Itoa(time.Now().Year()-1))
	bad = p.post(t, link, expired, nil)
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	assert.Contains(t, bad.body, "Expiry year: the card has expired")

	// Cross-site posts are refused, by fetch metadata or by Origin.
	cross := p.post(t, link, cardForm(testPAN, testCVV2), map[string]string{"Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusForbidden, cross.status)
	assertPageHeaders(t, cross)
	cross = p.post(t, link, cardForm(testPAN, testCVV2), map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"})
	require.Equal(t, http.StatusForbidden, cross.status)

	// A body over the limit is refused before it is read.
	big := cardForm(testPAN, testCVV2)
	big.Set("name", strings.Repeat("A", 8<<10))
	tooBig := p.post(t, link, big, nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, tooBig.status)
	assertPageHeaders(t, tooBig)

	// None of that used the link.
	require.Equal(t, http.StatusOK, p.get(t, link).status)
	assert.Equal(t, mcpserver.StatusCardEntryRequired, ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID}).Status)
	assert.Empty(t, ok[mcpserver.ListCardsResult](t, e, "list-cards", map[string]any{"userId": u.id}).Cards)

	done := p.post(t, link, cardForm(testPAN, testCVV2), nil)
	require.Equal(t, http.StatusOK, done.status, done.body)
	assertPageHeaders(t, done)
	assert.Contains(t, done.body, "Your card was received. Return to your assistant to finish.")

	// The journey moved to its next human step; the conversation goes on.
	next := ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID})
	require.Equal(t, mcpserver.StatusChooseStepUp, next.Status, "%+v", next)
	require.NotEmpty(t, next.Methods)
	next = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "method": next.Methods[0].Method})
	require.Equal(t, mcpserver.StatusOTPRequired, next.Status, "%+v", next)
	next = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, next.Status, "%+v", next)

	// Used: neither the form nor a second card, the same or another.
	for _, again := range []pageReply{p.get(t, link), p.post(t, link, cardForm(testPAN, testCVV2), nil),
		p.post(t, link, cardForm("4000000000000002", "123"), nil)} {
		require.Equal(t, http.StatusGone, again.status)
		assert.Contains(t, again.body, "already used")
		assert.NotContains(t, again.body, "<form")
		assertPageHeaders(t, again)
	}
	assert.Len(t, ok[mcpserver.ListCardsResult](t, e, "list-cards", map[string]any{"userId": u.id}).Cards, 1)
	e.assertClean(t, []string{badPAN, badCVV, "4000000000000002"}, p.all()...)
}

// TestCardEntryLinkRefused: an expired link, a tampered one, and one
// signed by a server with another key show "not valid", never the form.
func TestCardEntryLinkRefused(t *testing.T) {
	t.Parallel()
	e, p := newPagesEnv(t, mcpserver.WithDeviceKey([]byte(strings.Repeat("k", mcpserver.MinDeviceKeyLen))))
	u := newUser(81)
	link := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args()}).CardEntryURL
	require.Equal(t, http.StatusOK, p.get(t, link).status)
	token := link[strings.LastIndexByte(link, '/')+1:]
	body, sig, found := strings.Cut(token, ".")
	require.True(t, found)

	// The claims changed to another user, the signature kept.
	raw, err := base64.RawURLEncoding.DecodeString(body)
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	claims["u"] = "mallory"
	forged, err := json.Marshal(claims)
	require.NoError(t, err)
	flipped := []byte(sig)
	flipped[3] ^= 1
	if flipped[3] == '.' {
		flipped[3] = 'A'
	}
	base := link[:strings.LastIndexByte(link, '/')+1]
	refused := []string{
		base + base64.RawURLEncoding.EncodeToString(forged) + "." + sig,
		base + body + "." + string(flipped),
		base + body,
		base + "not-a-link",
	}

	// A link of a server with another key.
	other, op := newPagesEnv(t)
	refused = append(refused, p.ts.URL+strings.TrimPrefix(
		ok[mcpserver.FlowResult](t, other, "add-card", map[string]any{"user": u.args()}).CardEntryURL, op.ts.URL))

	// An expired link: its time to live has passed when it is used.
	short, sp := newPagesEnv(t, mcpserver.WithCardEntryTTL(time.Nanosecond))
	expired := ok[mcpserver.FlowResult](t, short, "add-card", map[string]any{"user": u.args()}).CardEntryURL
	r := sp.get(t, expired)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.body, "not valid or has expired")
	r = sp.post(t, expired, cardForm(testPAN, testCVV2), nil)
	assert.Equal(t, http.StatusNotFound, r.status)

	for _, l := range refused {
		for _, r := range []pageReply{p.get(t, l), p.post(t, l, cardForm(testPAN, testCVV2), nil)} {
			assert.Equal(t, http.StatusNotFound, r.status, l)
			assert.Contains(t, r.body, "not valid or has expired")
			assert.NotContains(t, r.body, "<form")
			assertPageHeaders(t, r)
		}
	}
	assert.Empty(t, ok[mcpserver.ListCardsResult](t, e, "list-cards", map[string]any{"userId": "mallory"}).Cards)
	assert.Empty(t, ok[mcpserver.ListCardsResult](t, e, "list-cards", map[string]any{"userId": u.id}).Cards)
	e.assertClean(t, nil, p.all()...)
}

// TestCardEntryOtherUser: with authentication, a card-entry journey is its
// owner's: another user can neither read nor continue it, before or after
// the card arrives, and the card goes to the owner.
func TestCardEntryOtherUser(t *testing.T) {
	t.Parallel()
	e, p := newPagesEnv(t, mcpserver.WithRequireAuth(true))
	alice, bob := connectAs(t, e.srv, "alice"), connectAs(t, e.srv, "bob")
	user := map[string]any{"email": "alice@example.com", "country": "US"}
	r := okOn[mcpserver.FlowResult](t, e, alice, "add-card", map[string]any{"user": user, "stepUpMethod": "OTPSMS"})
	require.Equal(t, mcpserver.StatusCardEntryRequired, r.Status)
	// Card arguments are not even offered.
	res := e.callOn(t, alice, "add-card", map[string]any{"user": user, "card": cardArgs(testPAN)})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "invalid argument card")

	for _, args := range []map[string]any{{"flowId": r.FlowID}, {"flowId": r.FlowID, "cancel": true}} {
		res = e.callOn(t, bob, "add-card-continue", args)
		require.True(t, res.IsError)
		assert.Contains(t, text(res), "not an add-card journey of yours")
	}
	done := p.post(t, r.CardEntryURL, cardForm(testPAN, testCVV2), nil)
	require.Equal(t, http.StatusOK, done.status)
	assert.Contains(t, done.body, "Visa sent you a one-time code", "the preferred method was used without asking")
	res = e.callOn(t, bob, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "not an add-card journey of yours")

	next := okOn[mcpserver.FlowResult](t, e, alice, "add-card-continue", map[string]any{"flowId": r.FlowID})
	require.Equal(t, mcpserver.StatusOTPRequired, next.Status, "%+v", next)
	next = okOn[mcpserver.FlowResult](t, e, alice, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, next.Status, "%+v", next)
	assert.Len(t, okOn[mcpserver.ListCardsResult](t, e, alice, "list-cards", map[string]any{}).Cards, 1)
	assert.Empty(t, okOn[mcpserver.ListCardsResult](t, e, bob, "list-cards", map[string]any{}).Cards)
	e.assertClean(t, nil, p.all()...)
}

// TestCardEntryConcurrentPosts: of many posts of one link at once, the
// link adds exactly one card.
func TestCardEntryConcurrentPosts(t *testing.T) {
	t.Parallel()
	e, p := newPagesEnv(t)
	u := newUser(82)
	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "stepUpMethod": "OTPSMS"})
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Go(func() {
			form := cardForm(testPAN, testCVV2)
			if i%2 == 1 {
				form.Set("name", "Alice B Doe") // another request for the same link
			}
			codes[i] = p.post(t, r.CardEntryURL, form, nil).status
		})
	}
	wg.Wait()
	accepted := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			accepted++
		case http.StatusGone:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	assert.GreaterOrEqual(t, accepted, 1)
	next := ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, next.Status, "%+v", next)
	assert.Len(t, ok[mcpserver.ListCardsResult](t, e, "list-cards", map[string]any{"userId": u.id}).Cards, 1)
	e.assertClean(t, nil, p.all()...)
}

// TestCardEntryAcrossInstances: the card-entry page posted to instance B
// moves the journey that instance A's call is waiting for (a URL
// elicitation) or that A's add-card-continue reads: the progress comes
// from the journey record in the shared store, not from B's memory.
func TestCardEntryAcrossInstances(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "visa.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := fido.NewSealer("k", map[string][]byte{"k": make([]byte, 32)})
	require.NoError(t, err)
	shared := []mcpserver.Option{mcpserver.WithStore(st), mcpserver.WithSealer(sealer),
		mcpserver.WithDeviceKey([]byte(strings.Repeat("d", mcpserver.MinDeviceKeyLen)))}
	a, pa := newPagesEnv(t, shared...)
	pb := newPages(t)
	b, err := mcpserver.New(a.cfg, append(shared, mcpserver.WithFrame(a.frame), mcpserver.WithMerchant(a.merchant),
		mcpserver.WithPublicURL(pb.publicURL()))...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	pb.serve(b)
	onB := func(link string) string {
		require.True(t, strings.HasPrefix(link, pa.ts.URL), link)
		return pb.ts.URL + strings.TrimPrefix(link, pa.ts.URL)
	}

	for i, pv := range protocols {
		t.Run("elicitation/"+pv.name, func(t *testing.T) {
			form := answerForm(t, sandbox.GoldenOTP)
			var typed sync.WaitGroup
			el := &elicitor{answer: func(q *mcp.ElicitParams) *mcp.ElicitResult {
				if q.Mode != "url" {
					return form(q)
				}
				typed.Go(func() {
					r := pb.post(t, onB(q.URL), cardForm(testPAN, testCVV2), nil)
					assert.Equal(t, http.StatusOK, r.status)
				})
				return &mcp.ElicitResult{Action: "accept"}
			}}
			r := okOn[mcpserver.FlowResult](t, a, el.connect(t, a.srv, pv.version, formAndURL), "add-card", map[string]any{"user": newUser(130 + i).args()})
			typed.Wait()
			require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
			require.Len(t, el.questions(), 3)
			assert.Equal(t, []string{el.questions()[0].ElicitationID}, el.completions(), "A told its client the page is done")
			noCard(t, a, el.transcript())
		})
	}

	t.Run("continue", func(t *testing.T) {
		u := newUser(135)
		r := ok[mcpserver.FlowResult](t, a, "add-card", map[string]any{"user": u.args()})
		require.Equal(t, mcpserver.StatusCardEntryRequired, r.Status)
		done := pb.post(t, onB(r.CardEntryURL), cardForm(testPAN, testCVV2), nil)
		require.Equal(t, http.StatusOK, done.status, done.body)
		// Used on B is used on A.
		assert.Equal(t, http.StatusGone, pa.get(t, r.CardEntryURL).status)
		next := ok[mcpserver.FlowResult](t, a, "add-card-continue", map[string]any{"flowId": r.FlowID})
		require.Equal(t, mcpserver.StatusChooseStepUp, next.Status, "%+v", next)
		next = ok[mcpserver.FlowResult](t, a, "add-card-continue", map[string]any{"flowId": r.FlowID, "method": next.Methods[0].Method})
		require.Equal(t, mcpserver.StatusOTPRequired, next.Status, "%+v", next)
		next = ok[mcpserver.FlowResult](t, a, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
		require.Equal(t, mcpserver.StatusCompleted, next.Status, "%+v", next)
	})
	a.assertClean(t, nil, append(pa.all(), pb.all()...)...)
}
