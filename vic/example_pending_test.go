package vic_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vic"
)

// An HTTP 202 with pendingEvents (docs/wire.md §6.7) is a *vic.PendingError:
// nothing was created and the assertion is still unused, so the same
// request is sent again once the cardholder has acted.
func ExamplePendingError() {
	amount := visa.MustParseAmount("49.99", "USD")
	sbx, c, token, ai, as, dfp, err := exampleSetup(amount)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sbx.Close()
	// The sandbox answers the next instruction with a 202.
	_ = sbx.SetFaults(sandbox.FaultPlan{Rules: []sandbox.FaultRule{
		{Endpoint: "POST /vacp/v1/instructions", Kind: sandbox.PendingEvents(), Count: 1}}})
	req := vic.CreateInstructionRequest{ConsumerID: "user-1", TokenID: token, AppInstance: ai, Assurance: as, DFPSessionID: dfp,
		Mandates: []vic.Mandate{{Description: "Headphones", DeclineThreshold: amount}}}
	ctx := context.Background()
	_, err = c.CreateInstruction(ctx, req)
	var pending *vic.PendingError
	if errors.As(err, &pending) {
		fmt.Println("pending:", pending.Status, pending.Events)
		// ... the cardholder acts, then:
		ins, err := c.CreateInstruction(ctx, req)
		fmt.Println("then:", ins.Status, err)
	}
	// Output:
	// pending: PENDING [CARDHOLDER_ACTION_PENDING]
	// then: ACTIVE <nil>
}

// The signedPayload allow-list is a copy: changing it changes nothing.
func ExampleDefaultAlgorithms() {
	algs := vic.DefaultAlgorithms()
	algs[0] = "HS256"
	fmt.Println(vic.DefaultAlgorithms())
	// Output: [RS256 PS256 ES256]
}

// Rotating the MLE keys of a running client: the new key id becomes the
// current one, the old one stays live for answers still encrypted for it.
func ExampleClient_RotateMLE() {
	sbx, err := sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sbx.Close()
	cfg := sbx.Config()
	c, err := vic.New(cfg, vic.WithoutVerification())
	if err != nil {
		fmt.Println(err)
		return
	}
	current := cfg.VIC.CurrentMLEKey()
	// Visa renews its server certificate for the current key id.
	fmt.Println(c.SetMLEServerCert(sbx.MLEServerCertPEM()))
	// A refused rotation (an older key without its private key) changes
	// nothing.
	err = c.RotateMLE(current, visa.MLEKey{KeyID: "old-key"})
	fmt.Println(errors.Is(err, visa.ErrInvalidInput), c.MLEKeyIDs())
	// Output:
	// <nil>
	// true [SBX-MLE-KEY-01]
}
