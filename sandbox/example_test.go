package sandbox_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/vicgo/visa/sandbox"
)

// A sandbox on loopback, with TLS and its own CA by default; Config is a
// complete client configuration.
func ExampleNew() {
	sb, err := sandbox.New()
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	cfg := sb.Config()
	fmt.Println(strings.SplitN(sb.BaseURL(), ":", 2)[0])
	fmt.Println(cfg.Validate() == nil, len(cfg.TLS.RootCAsPEM) > 0)
	fmt.Println(cfg.SignedPayload.JWKSURL == sb.BaseURL()+"/.well-known/jwks.json")
	// Output:
	// https
	// true true
	// true
}

// Inspect reports what the sandbox saw, e.g. merchant authorizations.
func ExampleSandbox_Inspect() {
	sb, err := sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	body := `{"merchantName":"Best Buy","cardNumber":"4895370000000000","expirationMonth":"12","expirationYear":"2029",
	"cvv2":"123","transactionAmount":{"transactionAmount":"1.00","transactionCurrencyCode":"USD"},"transactionReferenceId":"T-1"}`
	resp, err := http.Post(sb.MerchantURL(), "application/json", bytes.NewBufferString(body))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	snap := sb.Inspect()
	fmt.Println(snap.AuthorizationsTotal, snap.Authorizations[0].ResponseCode, snap.Authorizations[0].Status, sb.ChargesFor("T-1"))
	// Output:
	// 1 14 DECLINED 0
}

// Faults make the sandbox fail on purpose, here once on the JWKS.
func ExampleSandbox_SetFaults() {
	sb, err := sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	err = sb.SetFaults(sandbox.FaultPlan{Rules: []sandbox.FaultRule{
		{Endpoint: "GET /.well-known/jwks.json", Kind: sandbox.Status503, Count: 1},
	}})
	if err != nil {
		panic(err)
	}
	for range 2 {
		resp, err := http.Get(sb.JWKSURL())
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	fmt.Println(sb.Inspect().FaultsInjected["status_503"])
	// Output:
	// 503
	// 200
	// 1
}

// A manual clock expires things without sleeping.
func ExampleManualClock() {
	clk := sandbox.NewManualClock(sandbox.SystemClock{}.Now())
	sb, err := sandbox.New(sandbox.WithPlainHTTP(), sandbox.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	start := sb.Clock().Now()
	clk.Advance(sb.Lifetimes().Instruction)
	fmt.Println(sb.Clock().Now().Sub(start))
	// Output:
	// 5m0s
}

// WithInMemory: Config's HTTPClient reaches the sandbox's handlers in this
// process, without a socket or TLS, which makes unit tests cheaper.
func ExampleWithInMemory() {
	sb, err := sandbox.New(sandbox.WithInMemory(), sandbox.WithMaxRetained(1000))
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	cfg := sb.Config()
	resp, err := cfg.HTTPClient.Get(cfg.SignedPayload.JWKSURL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, cfg.Validate() == nil)
	// Output:
	// 200 true
}
