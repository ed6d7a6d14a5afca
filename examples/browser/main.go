package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/examples/internal/exampleenv"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address of the shop")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, func(url string) { log.Printf("open %s in your browser", url) }); err != nil {
		fmt.Fprintln(os.Stderr, "browser example failed:", err)
		os.Exit(1)
	}
}

// shop is the example's web application.
type shop struct {
	agent  *agent.Agent
	bridge *authframe.Bridge
	store  store.Store

	// flows run in the background, each bounded by ctx (canceled when
	// the shop shuts down); run waits for them before it returns.
	ctx   context.Context
	flows sync.WaitGroup

	mu     sync.Mutex
	events []string
}

func run(ctx context.Context, addr string, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	origin := "http://" + ln.Addr().String()
	env, err := exampleenv.Setup(ctx, exampleenv.Options{Sandbox: []sandbox.Option{
		sandbox.WithPlainHTTP(), sandbox.WithAllowedOrigins(origin),
	}})
	if err != nil {
		return err
	}
	defer env.Close()
	bridge, err := authframe.NewBridge(env.Config, authframe.WithPathPrefix("/vpp/"), authframe.WithBridgeTimeout(5*time.Minute))
	if err != nil {
		return err
	}
	defer bridge.Shutdown()
	a, err := env.Agent(agent.WithFrame(bridge))
	if err != nil {
		return err
	}
	s := &shop{agent: a, bridge: bridge, store: env.Store, ctx: ctx}
	// Flows end before the store and the sandbox close (deferred above).
	defer s.flows.Wait()
	mux := http.NewServeMux()
	mux.Handle("/vpp/", http.StripPrefix("/vpp", bridge))
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /add", s.add)
	mux.HandleFunc("POST /buy", s.buy)
	// Every state-changing request (the /add and /buy forms, the Bridge's
	// event posts) must come from this origin: a form another site posts
	// would start a purchase flow and send the shopper to the passkey page.
	// CrossOriginProtection checks Sec-Fetch-Site (or Origin against Host)
	// and answers 403 to a cross-origin POST.
	srv := &http.Server{Handler: http.NewCrossOriginProtection().Handler(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); bridge.Shutdown(); _ = srv.Shutdown(context.Background()) }()
	ready(origin + "/")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *shop) note(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, time.Now().Format("15:04:05")+" "+fmt.Sprintf(format, args...))
}

var page = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vicgo shop</title>
<style>body{font:16px system-ui;margin:2em;max-width:46em}button{font-size:1em;margin:.2em}li{margin:.2em 0}</style></head>
<body><h1>vicgo shop</h1>
<p>A passkey in your own browser, against the local Visa sandbox.</p>
<form method="post" action="/add"><button>Add a test card (creates a passkey)</button></form>
{{range .Cards}}<form method="post" action="/buy"><input type="hidden" name="token" value="{{.TokenID}}">
<button>Buy headphones for $129.99 with card ****{{.Last4}}</button></form>{{end}}
<h2>Transactions</h2><ul>{{range .Txs}}<li>{{.Amount}} {{.Currency}} at {{.MerchantName}}: <b>{{.Status}}</b></li>{{else}}<li>none yet</li>{{end}}</ul>
<h2>Events</h2><ul>{{range .Events}}<li>{{.}}</li>{{else}}<li>none yet</li>{{end}}</ul>
<p><a href="/">refresh</a></p></body></html>`))

func (s *shop) index(w http.ResponseWriter, r *http.Request) {
	var data struct {
		Cards  []store.Card
		Txs    []store.Transaction
		Events []string
	}
	for c, err := range s.store.ListCards(r.Context(), exampleenv.User().ID) {
		if err == nil && c.VICEnrollment == store.VICEnrolled {
			data.Cards = append(data.Cards, c)
		}
	}
	for t, err := range s.store.ListTransactions(r.Context(), store.TxFilter{}) {
		if err == nil {
			data.Txs = append(data.Txs, t)
		}
	}
	s.mu.Lock()
	data.Events = append([]string(nil), s.events...)
	s.mu.Unlock()
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	_ = page.Execute(w, data)
}

// flow starts fn on a fresh Bridge channel and sends the browser to the
// Bridge page, where the passkey ceremony happens.
func (s *shop) flow(w http.ResponseWriter, r *http.Request, name string, fn func(ctx context.Context, dev agent.Device) error) {
	ch, err := s.bridge.NewChannel()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	dev := exampleenv.Device()
	dev.Channel = ch
	s.flows.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Minute)
		defer cancel()
		if err := fn(ctx, dev); err != nil {
			s.note("%s failed: %v", name, err)
			return
		}
		s.note("%s done", name)
	})
	http.Redirect(w, r, s.bridge.PageURL(ch), http.StatusSeeOther)
}

func (s *shop) add(w http.ResponseWriter, r *http.Request) {
	s.flow(w, r, "add card", func(ctx context.Context, dev agent.Device) error {
		card, err := exampleenv.Card("4111111111111111")
		if err != nil {
			return err
		}
		res, err := s.agent.AddCard(ctx, agent.AddCardRequest{User: exampleenv.User(), Card: card, Device: dev,
			Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{"456789"}}})
		if err == nil {
			s.note("card ****%s added with a new passkey", res.Card.Last4)
		}
		return err
	})
}

func (s *shop) buy(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	s.flow(w, r, "purchase", func(ctx context.Context, dev agent.Device) error {
		rec, err := s.agent.Purchase(ctx, agent.PurchaseRequest{UserID: exampleenv.User().ID, TokenID: token, Device: dev,
			Amount:      visa.MustParseAmount("129.99", "USD"),
			Merchant:    agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US"},
			Description: "Noise-cancelling headphones"})
		if err == nil {
			s.note("paid with %s: %s", rec.Credential.PaymentToken, rec.Transaction.Status)
		}
		return err
	})
}
