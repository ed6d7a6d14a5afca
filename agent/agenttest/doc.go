// Package agenttest holds what tests and demonstrations of package agent
// need and production code must not: a scripted cardholder that answers
// the OTP questions from a list, the Merchant of the local sandbox's
// authorizer, and a crash hook that stops a purchase at any boundary as if
// its process had died, to show that the reconciler settles it.
//
//	m, _ := agenttest.NewSandboxMerchant(sb.MerchantURL(), sb.Config())
//	crashing, _ := agent.New(cfg, st, sealer, agent.WithMerchant(m),
//		agenttest.WithInterrupt(func(b agenttest.Boundary) bool { return b == agenttest.AfterCharge }))
//	_, err := crashing.Purchase(ctx, req)            // agent.ErrInterrupted
//	rep, _ := recovering.Reconcile(ctx)              // rep.Completed == 1
package agenttest
