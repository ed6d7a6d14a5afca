package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/test/fleet"
	"github.com/vicgo/visa/test/reliability"
	"github.com/vicgo/visa/vts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(1)
	}
}

type flags struct {
	name, addr                      string
	lease, merchantT, margin, every time.Duration
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("replica", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.name, "name", "replica", "the replica's name in journey leases")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:0", "listen address (port 0 picks a free one)")
	fs.DurationVar(&f.lease, "lease", 4*time.Second, "journey lease (agent.WithLease)")
	fs.DurationVar(&f.merchantT, "merchant-timeout", 5*time.Second, "merchant call timeout (agent.WithMerchantTimeout)")
	fs.DurationVar(&f.margin, "merchant-margin", 5*time.Second, "margin after the merchant timeout (agent.WithMerchantTimeout)")
	fs.DurationVar(&f.every, "reconcile", 500*time.Millisecond, "interval of agent.RunReconciler")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return f, nil
}

// openStore opens FLEET_DATABASE: "sqlite:<path>" or "postgres:<dsn>".
func openStore(ctx context.Context, spec string) (store.Store, error) {
	kind, where, _ := strings.Cut(spec, ":")
	switch {
	case kind == "sqlite" && where != "":
		return sqlite.Open(ctx, where)
	case kind == "postgres" && where != "":
		return postgres.Open(ctx, where)
	}
	return nil, errors.New("FLEET_DATABASE must be sqlite:<path> or postgres:<dsn>")
}

// run serves the replica until ctx ends: the agent's HTTP API on addr and
// the reconciler beside it. It prints fleet.URLLine once it serves.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil)).With("replica", f.name, "pid", os.Getpid())
	cfg, err := visa.ConfigFromLookup(lookup)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.Timeout = 20 * time.Second
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 3, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	get := func(name string) string { v, _ := lookup(name); return v }
	sealer, err := fido.ParseKeyring(get("VISA_SEALER_KEYS"))
	if err != nil {
		return fmt.Errorf("VISA_SEALER_KEYS: %w", err)
	}
	m, err := agenttest.NewSandboxMerchant(get("VISA_MERCHANT_URL"), cfg)
	if err != nil {
		return fmt.Errorf("VISA_MERCHANT_URL: %w", err)
	}
	st, err := openStore(ctx, get("FLEET_DATABASE"))
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithOwner(f.name), agent.WithLogger(logger),
		agent.WithLease(f.lease), agent.WithMerchantTimeout(f.merchantT, f.margin))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	s := &server{a: a, name: fmt.Sprintf("%s/%d", f.name, os.Getpid()), logger: logger}
	// Connections outlive a Go client's idle pool (90 s by default), as in
	// the sandbox's server (sandbox/server.go): the harness's pooled
	// connections must not be closed under a POST.
	hs := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 3 * time.Minute, IdleTimeout: 3 * time.Minute}

	var wg sync.WaitGroup
	rctx, stopReconciler := context.WithCancel(ctx)
	defer stopReconciler()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = a.RunReconciler(rctx, f.every)
	}()
	served := make(chan error, 1)
	go func() {
		defer wg.Done()
		served <- hs.Serve(ln)
	}()
	fmt.Fprintf(stdout, "%shttp://%s\n", fleet.URLLine, ln.Addr())
	logger.Info("replica serving", "addr", ln.Addr().String())

	select {
	case err = <-served:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	stopReconciler()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("replica stopped")
	return err
}

type server struct {
	a      *agent.Agent
	name   string
	logger *slog.Logger
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+fleet.PathAddCard, s.addCard)
	mux.HandleFunc("POST "+fleet.PathPurchases, s.purchase)
	mux.HandleFunc("GET "+fleet.PathJourneys+"{id}", s.getJourney)
	mux.HandleFunc("POST "+fleet.PathJourneys+"{id}/answer", s.answer)
	mux.HandleFunc("POST "+fleet.PathJourneys+"{id}/cancel", s.cancel)
	return mux
}

// device is the cardholder's device of the fleet's users.
func device(id string) agent.Device {
	return agent.Device{ClientDeviceID: id, AppInstance: visa.AppInstance{
		ClientDeviceID: id, UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Fleet Agent",
		CountryCode: "US", IPAddress: "203.0.113.7", DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"},
	}}
}

func (s *server) addCard(w http.ResponseWriter, r *http.Request) {
	var in fleet.AddCardRequest
	if !s.read(w, r, &in) {
		return
	}
	pan, err := visa.ParsePAN(in.PAN)
	if err != nil {
		http.Error(w, "bad pan", http.StatusBadRequest)
		return
	}
	cvv, err := visa.ParseCVV2(in.CVV2)
	if err != nil {
		http.Error(w, "bad cvv2", http.StatusBadRequest)
		return
	}
	j, err := s.a.StartAddCard(r.Context(), agent.AddCardRequest{
		IdempotencyKey: in.IdempotencyKey,
		User:           store.User{ID: in.UserID, Email: in.Email, Country: "US", Language: "en"},
		Card:           vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: vts.ExpirationDate{Month: in.ExpiryMonth, Year: in.ExpiryYear}, Name: "Fleet Shopper"},
		Device:         device(in.DeviceID),
	})
	s.reply(w, fleet.Reply{Journey: journeyView(j), Error: errorView(err)})
}

func (s *server) answer(w http.ResponseWriter, r *http.Request) {
	var in fleet.Answer
	if !s.read(w, r, &in) {
		return
	}
	ans := agent.Answer{PromptID: in.PromptID, Method: in.Method, Resend: in.Resend}
	if in.OTP != "" {
		otp, err := visa.ParseOTP(in.OTP)
		if err != nil {
			http.Error(w, "bad otp", http.StatusBadRequest)
			return
		}
		ans.OTP = otp
	}
	j, err := s.a.Continue(r.Context(), r.PathValue("id"), ans)
	s.reply(w, fleet.Reply{Journey: journeyView(j), Error: errorView(err)})
}

func (s *server) cancel(w http.ResponseWriter, r *http.Request) {
	j, err := s.a.CancelJourney(r.Context(), r.PathValue("id"))
	s.reply(w, fleet.Reply{Journey: journeyView(j), Error: errorView(err)})
}

func (s *server) getJourney(w http.ResponseWriter, r *http.Request) {
	j, err := s.a.GetJourney(r.Context(), r.PathValue("id"))
	s.reply(w, fleet.Reply{Journey: journeyView(j), Error: errorView(err)})
}

func (s *server) purchase(w http.ResponseWriter, r *http.Request) {
	var in fleet.PurchaseRequest
	if !s.read(w, r, &in) {
		return
	}
	amount, err := visa.ParseAmount(in.Amount, "USD")
	if err != nil {
		http.Error(w, "bad amount", http.StatusBadRequest)
		return
	}
	rec, err := s.a.Purchase(r.Context(), agent.PurchaseRequest{
		IdempotencyKey: in.IdempotencyKey, UserID: in.UserID, TokenID: in.TokenID, Device: device(in.DeviceID),
		Amount:         amount,
		Merchant:       agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US", CategoryCode: "5732"},
		Description:    "Noise-cancelling headphones",
		ConsumerPrompt: "buy the Sony headphones under $130",
	})
	s.reply(w, fleet.Reply{Receipt: receiptView(rec), Error: errorView(err)})
}

func (s *server) read(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return false
	}
	return true
}

func (s *server) reply(w http.ResponseWriter, rep fleet.Reply) {
	rep.Replica = s.name
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(rep); err != nil {
		s.logger.Warn("replica: writing the reply failed", "error", err.Error())
	}
}

func journeyView(j *agent.Journey) *fleet.JourneyView {
	if j == nil {
		return nil
	}
	v := &fleet.JourneyView{ID: j.ID, Kind: string(j.Kind), Status: string(j.Status), ExpiresAt: j.ExpiresAt,
		Receipt: receiptView(j.Receipt), Err: errorView(j.Err)}
	if j.Card != nil {
		v.TokenID = j.Card.Card.TokenID
	}
	if n := j.Next; n != nil {
		nv := &fleet.NextView{Action: string(n.Action), PromptID: n.PromptID, AttemptsLeft: n.AttemptsLeft, CodesLeft: n.CodesLeft}
		for _, m := range n.Methods {
			nv.Methods = append(nv.Methods, m.Identifier)
		}
		if n.LastError != nil {
			nv.LastError = n.LastError.Error()
		}
		v.Next = nv
	}
	return v
}

func receiptView(r *agent.Receipt) *fleet.ReceiptView {
	if r == nil {
		return nil
	}
	return &fleet.ReceiptView{TransactionID: r.Transaction.ID, Status: string(r.Transaction.Status),
		ResponseCode: r.Transaction.ResponseCode, Replayed: r.Replayed}
}

// errorView classifies err for the driver.
func errorView(err error) *fleet.ErrorView {
	if err == nil {
		return nil
	}
	v := &fleet.ErrorView{Kind: kindOf(err), Class: reliability.ErrorClass(err), Message: err.Error()}
	var re *agent.ReplayedError
	if errors.As(err, &re) {
		v.Code = re.Code
		if v.Class == "" {
			v.Class = "replayed " + re.Code
		}
	}
	return v
}

func kindOf(err error) string {
	for _, k := range []struct {
		err  error
		kind string
	}{
		{agent.ErrJourneyNotFound, fleet.KindNotFound},
		{agent.ErrJourneyOver, fleet.KindOver},
		{agent.ErrJourneyBusy, fleet.KindBusy},
		{agent.ErrUnexpectedAnswer, fleet.KindUnexpected},
		{agent.ErrJourneyExpired, fleet.KindExpired},
		{agent.ErrInProgress, fleet.KindInProgress},
		{agent.ErrIdempotencyMismatch, fleet.KindMismatch},
		{agent.ErrChargedUnconfirmed, fleet.KindChargedUnconfirmed},
		{agent.ErrOutcomeUnknown, fleet.KindOutcomeUnknown},
		{agent.ErrOwnershipLost, fleet.KindOwnershipLost},
		{agent.ErrDeclined, fleet.KindDeclined},
		{agent.ErrSuperseded, fleet.KindSuperseded},
		{visa.ErrInvalidInput, fleet.KindInput},
	} {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return fleet.KindFailed
}
