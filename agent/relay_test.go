package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vts"
)

// page plays the cardholder's browser on a Bridge page: it long-polls one
// replica for commands, runs each against the Auth iFrame (the sandbox's
// JSON mode, as authframe.Direct speaks it), and posts the iFrame's events
// to another replica. It learns the session's secureToken and the
// ceremony's fidoBlob, as a browser would, and reports them.
type page struct {
	t           *testing.T
	pollBase    string // the replica the page polls
	eventBase   string // the replica it posts events to
	frameURL    string
	secrets     *testutil.Secrets
	mu          sync.Mutex
	channel     string
	commands    int
	eventErrors []string
	set         chan struct{} // a channel was set
	posted      chan struct{} // an event was posted (the journey moved)
}

func newPage(t *testing.T, pollBase, eventBase, frameURL string, sec *testutil.Secrets) *page {
	return &page{t: t, pollBase: pollBase, eventBase: eventBase, frameURL: frameURL, secrets: sec,
		set: make(chan struct{}, 1), posted: make(chan struct{}, 1)}
}

func (p *page) setChannel(passkeyURL string) {
	u, err := url.Parse(passkeyURL)
	require.NoError(p.t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.channel = u.Query().Get("channel")
	signal(p.set)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run serves the page until ctx ends.
func (p *page) run(ctx context.Context) {
	var after uint64
	var requestID, last string
	for ctx.Err() == nil {
		p.mu.Lock()
		ch := p.channel
		p.mu.Unlock()
		if ch != last { // a new page: its commands start again at 1
			after, last = 0, ch
		}
		if ch == "" {
			select {
			case <-p.set:
			case <-ctx.Done():
			}
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.pollBase+"/poll", nil)
		req.Header.Set("X-VPP-Channel", ch)
		req.Header.Set("X-VPP-After", strconv.FormatUint(after, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		var cmd struct {
			Seq     uint64          `json:"seq"`
			Message json.RawMessage `json:"message"`
		}
		require.NoError(p.t, json.Unmarshal(body, &cmd))
		m, err := authframe.ParseMessage(cmd.Message)
		require.NoError(p.t, err)
		after = cmd.Seq
		p.mu.Lock()
		p.commands++
		p.mu.Unlock()
		switch m.Type {
		case authframe.TypeCreateAuthSession:
			ready := p.frame(ctx, http.MethodGet, nil)
			requestID = ready.RequestID
			p.event(ctx, ch, cmd.Seq, ready)
			m.RequestID = requestID
			created := p.frame(ctx, http.MethodPost, m)
			if created.SessionContext != nil {
				p.secrets.Add("secureToken", created.SessionContext.SecureToken.Reveal())
			}
			p.event(ctx, ch, cmd.Seq, created)
		case authframe.TypeAuthenticate, authframe.TypeCloseAuthSession:
			ev := p.frame(ctx, http.MethodPost, m)
			if ev.AssuranceData != nil {
				p.secrets.Add("fidoBlob", ev.AssuranceData.FidoBlob.Reveal())
			}
			p.event(ctx, ch, cmd.Seq, ev)
		}
	}
}

func (p *page) frame(ctx context.Context, method string, m *authframe.Message) *authframe.Message {
	var body io.Reader
	if m != nil {
		w, err := m.Wire()
		require.NoError(p.t, err)
		body = bytes.NewReader(w)
	}
	req, _ := http.NewRequestWithContext(ctx, method, p.frameURL, body)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(p.t, http.StatusOK, resp.StatusCode, string(data))
	ev, err := authframe.ParseMessage(data)
	require.NoError(p.t, err)
	return ev
}

func (p *page) event(ctx context.Context, channel string, seq uint64, m *authframe.Message) {
	w, err := m.Wire()
	require.NoError(p.t, err)
	body, _ := json.Marshal(map[string]any{"seq": seq, "message": json.RawMessage(w)})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.eventBase+"/event", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-VPP-Channel", channel)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		p.mu.Lock()
		p.eventErrors = append(p.eventErrors, resp.Status)
		p.mu.Unlock()
	}
	signal(p.posted)
}

// waitFor reads the journey after each event the page posts (an event is
// handled within its request) until cond holds.
func (p *page) waitFor(a *agent.Agent, id string, cond func(*agent.Journey) bool) *agent.Journey {
	t := p.t
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		j, err := a.GetJourney(context.Background(), id)
		require.NoError(t, err)
		if cond(j) {
			return j
		}
		select {
		case <-p.posted:
		case <-deadline.C:
			t.Fatalf("journey %s stuck at %s %+v", id, j.Status, j.Next)
		}
	}
}

// TestBridgeRelayAcrossReplicas: with the Bridge relayed through the store,
// the cardholder's page polls one replica and answers another; a card is
// added (session, OTP on a third call, fresh session, passkey) and a
// purchase is authenticated with it, and neither waiting journey holds a
// goroutine or stores a secureToken or fidoBlob.
func TestBridgeRelayAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replica := func(name string) (*agent.Agent, *httptest.Server) {
		// A short poll wait lets the test's page move to the next
		// journey's page quickly.
		b, err := authframe.NewBridge(e.cfg, authframe.WithPollWait(300*time.Millisecond))
		require.NoError(t, err)
		a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
			agent.WithOwner(name), agent.WithBridge(b))
		require.NoError(t, err)
		srv := httptest.NewServer(b)
		t.Cleanup(func() { b.Shutdown(); srv.Close() })
		return a, srv
	}
	a, srvA := replica("replica-a")
	b, srvB := replica("replica-b")
	frameURL, err := authframe.FrameURL(e.cfg)
	require.NoError(t, err)
	sec := testutil.NewSecrets()
	pg := newPage(t, srvA.URL, srvB.URL, frameURL, sec)
	done := make(chan struct{})
	go func() { defer close(done); pg.run(ctx) }()
	defer func() { cancel(); <-done }()

	u, dev := user(400), deviceN(400)
	j, err := a.StartAddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev})
	require.NoError(t, err)
	require.Equal(t, store.JourneyWaiting, j.Status)
	require.Equal(t, agent.ActionPasskey, j.Next.Action)
	require.NotEmpty(t, j.Next.PasskeyURL)
	pg.setChannel(j.Next.PasskeyURL)

	j = pg.waitFor(a, j.ID, func(j *agent.Journey) bool { return j.Next != nil && j.Next.Action == agent.ActionChooseOTPMethod })
	j, err = b.Continue(ctx, j.ID, agent.Answer{Method: j.Next.Methods[0].Identifier})
	require.NoError(t, err)
	j, err = a.Continue(ctx, j.ID, agent.Answer{OTP: otp(t, "456789")})
	require.NoError(t, err)
	require.Equal(t, agent.ActionPasskey, j.Next.Action, "a fresh session is opened after the code")
	j = pg.waitFor(b, j.ID, func(j *agent.Journey) bool { return j.Status.Final() })
	require.Equal(t, store.JourneySucceeded, j.Status, "%v", j.Err)
	require.NotNil(t, j.Card)
	c := j.Card.Card
	assert.Equal(t, store.VICEnrolled, c.VICEnrollment)

	// A purchase started on one replica, its passkey answered through the
	// page on the other two.
	pj, err := b.StartPurchase(ctx, purchaseReq(u, c, dev, "33.00"))
	require.NoError(t, err)
	require.Equal(t, agent.ActionPasskey, pj.Next.Action)
	pg.setChannel(pj.Next.PasskeyURL)
	pj = pg.waitFor(a, pj.ID, func(j *agent.Journey) bool { return j.Status.Final() })
	require.Equal(t, store.JourneySucceeded, pj.Status, "%v", pj.Err)
	require.NotNil(t, pj.Receipt)
	tx := pj.Receipt.Transaction
	assert.Equal(t, store.TxCompleted, tx.Status)
	assert.Equal(t, 1, e.sbx.ChargesFor(tx.TransactionReferenceID))
	e.assertNoDoubles(t)

	// The page learned the secrets; the store never did.
	nLong, _, _ := sec.Counts()
	require.Positive(t, nLong)
	for _, kind := range []store.JourneyKind{store.JourneyAddCard, store.JourneyPurchase} {
		for jr, err := range e.st.ListJourneys(ctx, store.JourneyFilter{Kind: kind}) {
			require.NoError(t, err)
			sec.Check(t, "journey "+jr.ID+" state", string(jr.State), testutil.LongOnly)
			sec.Check(t, "journey "+jr.ID, fmt.Sprintf("%+v", jr), testutil.LongOnly)
		}
	}
	assert.Empty(t, pg.eventErrors)
}

// TestBridgeRelayRefusesStrangers: a relayed Bridge serves no page, poll or
// event for a channel that is not a journey's, or with a wrong token.
func TestBridgeRelayRefusesStrangers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	br, err := authframe.NewBridge(e.cfg)
	require.NoError(t, err)
	a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now), agent.WithBridge(br))
	require.NoError(t, err)
	srv := httptest.NewServer(br)
	defer srv.Close()
	defer br.Shutdown()
	u, dev := user(410), deviceN(410)
	j, err := a.StartAddCard(context.Background(), agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev})
	require.NoError(t, err)
	good, err := url.Parse(j.Next.PasskeyURL)
	require.NoError(t, err)
	channel := good.Query().Get("channel")
	for _, bad := range []string{"", "nope", j.ID, j.ID + ".wrong-token", "x." + channel, channel + "x"} {
		resp, err := http.Get(srv.URL + "/page?channel=" + url.QueryEscape(bad))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "page for %q", bad)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/poll", nil)
		req.Header.Set("X-VPP-Channel", bad)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "poll for %q", bad)
	}
	resp, err := http.Get(srv.URL + j.Next.PasskeyURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the journey's own page")

	// An answer that is not the page's is refused for a passkey wait.
	_, err = a.Continue(context.Background(), j.ID, agent.Answer{Method: "x"})
	assert.ErrorIs(t, err, agent.ErrUnexpectedAnswer)
}

// watchingStore tells the test every journey that starts waiting for the
// passkey page.
type watchingStore struct {
	store.Store
	waits chan store.Journey
}

func (w *watchingStore) UpdateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	got, err := w.Store.UpdateJourney(ctx, j)
	if err == nil && got.Status == store.JourneyWaiting && agent.Action(got.NextAction) == agent.ActionPasskey {
		select {
		case w.waits <- got:
		default:
		}
	}
	return got, err
}

// TestAddCardDriverWithRelay: AddCard with a Cardholder drives the same
// journey while the cardholder's page answers the passkey steps on its
// own, through the relay.
func TestAddCardDriverWithRelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws := &watchingStore{Store: e.st, waits: make(chan store.Journey, 4)}
	br, err := authframe.NewBridge(e.cfg, authframe.WithPollWait(300*time.Millisecond))
	require.NoError(t, err)
	a, err := agent.New(e.cfg, ws, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now), agent.WithBridge(br))
	require.NoError(t, err)
	srv := httptest.NewServer(br)
	defer srv.Close()
	defer br.Shutdown()
	frameURL, err := authframe.FrameURL(e.cfg)
	require.NoError(t, err)
	pg := newPage(t, srv.URL, srv.URL, frameURL, testutil.NewSecrets())
	done := make(chan struct{})
	go func() { defer close(done); pg.run(ctx) }()
	defer func() { cancel(); <-done }()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-ctx.Done():
				return
			case j := <-ws.waits:
				v, err := a.GetJourney(ctx, j.ID)
				if err == nil && v.Next != nil && v.Next.PasskeyURL != "" {
					pg.setChannel(v.Next.PasskeyURL)
				}
			}
		}
	}()
	defer func() { cancel(); <-watched }()

	res, err := a.AddCard(ctx, agent.AddCardRequest{User: user(420), Card: card(t, "4111111111111111"), Device: deviceN(420), Cardholder: golden()})
	require.NoError(t, err)
	assert.Equal(t, store.VICEnrolled, res.Card.VICEnrollment)
	assert.Equal(t, vts.MethodOTPSMS, res.StepUp)
}
