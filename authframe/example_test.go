package authframe_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/sandbox"
)

// Direct runs the Auth iFrame handshake from the server. Against the local
// sandbox, which plays the cardholder's device, a passkey is registered for
// a new token (onboarding), then used for a purchase on a fresh session.
func ExampleDirect() {
	sb, err := sandbox.New()
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	frame, err := authframe.NewDirect(sb.Config())
	if err != nil {
		log.Fatal(err)
	}
	j, err := newJourney(sb.Config(), frame, nil) // VTS steps of the test journey
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := j.provision(ctx); err != nil { // steps 1-2
		log.Fatal(err)
	}

	// Step 3: a session gives the single-use secureToken for VTS.
	s, err := frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: "dev-aZ3_k9Qm7Lp2Xw8Rt5Yb"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("session open:", !s.SessionContext.SecureToken.IsZero())
	ac, err := j.register(ctx, s) // steps 4-8: binding, OTP, REGISTER options
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("action", ac.Action)
	reg, err := frame.Authenticate(ctx, s, ac) // step 9
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("assurance for", reg.RPID)
	fmt.Println("fidoBlob prints redacted:", strings.HasPrefix(fmt.Sprint(reg.FidoBlob), "[REDACTED"))
	_, err = frame.Authenticate(ctx, s, ac)
	fmt.Println("second ceremony refused:", errors.Is(err, authframe.ErrSecureTokenReused))
	if err := frame.Close(ctx, s); err != nil {
		log.Fatal(err)
	}

	// Steps 10-12: a purchase needs a new session.
	s2, err := frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: "dev-aZ3_k9Qm7Lp2Xw8Rt5Yb"})
	if err != nil {
		log.Fatal(err)
	}
	pay, err := j.pay(ctx, s2, "129.99")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("action", pay.Action)
	as, err := frame.Authenticate(ctx, s2, pay)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same passkey:", as.Identifier == reg.Identifier)
	// Output:
	// session open: true
	// action REGISTER
	// assurance for localhost
	// fidoBlob prints redacted: true
	// second ceremony refused: true
	// action AUTHENTICATE
	// same passkey: true
}

// The sandbox's X-Sandbox-Auth-Outcome hook plays a cardholder who
// dismisses the passkey prompt: the failure is typed.
func ExampleDirect_cancelled() {
	sb, err := sandbox.New()
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	frame, err := authframe.NewDirect(sb.Config(), authframe.WithDirectHeader("X-Sandbox-Auth-Outcome", "CANCELLED"))
	if err != nil {
		log.Fatal(err)
	}
	j, err := newJourney(sb.Config(), frame, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := j.provision(ctx); err != nil {
		log.Fatal(err)
	}
	s, err := j.open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ac, err := j.register(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	_, err = frame.Authenticate(ctx, s, ac)
	fmt.Println(err)
	fmt.Println("cancelled:", errors.Is(err, authframe.ErrUserCancelled))
	// Output:
	// visa: authframe.Authenticate: authframe: authenticate: AUTH_CANCELLED USER_CANCELLED: cancelled by the user
	// cancelled: true
}

// A service mounts the Bridge under a prefix of its own site and sends the
// cardholder to a channel's page; its Go code then runs Open, Authenticate
// and Close on that channel while the page is open in the browser.
func ExampleBridge() {
	cfg := visa.Config{Environment: visa.Sandbox, AuthBaseURL: "https://auth.example"}
	cfg.VTS.APIKey = visa.NewSecret("VTS-API-KEY")
	cfg.VTS.ClientAppID = "APP-1"
	bridge, err := authframe.NewBridge(cfg, authframe.WithPathPrefix("/vpp/"))
	if err != nil {
		log.Fatal(err)
	}
	defer bridge.Shutdown() // before the server closes: it releases held long-polls
	mux := http.NewServeMux()
	mux.Handle("/vpp/", http.StripPrefix("/vpp", bridge))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ch, err := bridge.NewChannel() // one per cardholder page
	if err != nil {
		log.Fatal(err)
	}
	page := bridge.PageURL(ch)
	fmt.Println("page:", strings.Replace(page, ch, "{channel}", 1))
	res, err := http.Get(srv.URL + page)
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.Status, res.Header.Get("Referrer-Policy"))
	fmt.Println("frames only the Auth origin:", strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-src https://auth.example;"))
	fmt.Println(bridge) // never the api key

	// Nobody shows this page: Open gives up with a typed timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: "dev-aZ3_k9Qm7Lp2Xw8Rt5Yb", Channel: ch})
	fmt.Println("timed out:", errors.Is(err, authframe.ErrTimeout))
	// Output:
	// page: /vpp/page?channel={channel}
	// 200 OK strict-origin
	// frames only the Auth origin: true
	// authframe.Bridge{auth: https://auth.example}
	// timed out: true
}
