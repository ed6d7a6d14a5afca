// Package vts is the Visa Token Service client: it turns a card into a
// token for an AI agent, binds the token to the consumer's device with a
// one-time passcode, and asks Visa how to authenticate the consumer with
// a passkey.
//
// Build one Client per visa.Config and call its methods; each method names
// the VTS endpoint and the journey step it serves:
//
//	c, err := vts.New(cfg)
//	// Step 1: the card goes encrypted; keep only the enrollment id, in memory.
//	enr, err := c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: exp}})
//	// Step 2: an INACTIVE token for the agent; keep its ids, last 4 and expiry.
//	tok, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, ...})
//	// Step 3 happens in the Auth iFrame: it gives SessionContext and BrowserData.
//	ref := vts.WithClientReferenceID(visa.NewClientReferenceID()) // one id per flow
//	probe, err := c.AttestationOptions(ctx, vts.AttestationOptionsRequest{Type: visa.ActionAuthenticate, ...}, ref) // step 4
//	bind, err := c.DeviceBinding(ctx, vts.DeviceBindingRequest{...}, ref)                                          // step 5
//	sel, err := c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{StepUpRequestID: ...}, ref)                // step 6
//	_, err = c.ValidateOTP(ctx, vts.ValidateOTPRequest{OTP: otp, ...}, ref)                                        // step 7
//	reg, err := c.AttestationOptions(ctx, vts.AttestationOptionsRequest{Type: visa.ActionRegister, ...}, ref)      // step 8
//
// Steps 9 and 12 are passkey ceremonies in the Auth iFrame; step 11 is
// AttestationOptions again, with the purchase amount and merchant, on a
// fresh session (step 10).
//
// GetToken, DeleteToken, SuspendToken and ResumeToken manage a token's
// life; GetPANEnrollment and GetContent fetch card metadata and card art.
//
// # Secrets
//
// Requests take the card as visa.PAN and visa.CVV2, the passcode as
// visa.OTP and the session as visa.SessionContext: they print and log as
// masks. The clear values are revealed only inside the unexported wire
// structs, right before encoding, and the PAN, CVV2 and (except where Visa
// asks for it in clear at provisioning) the email travel only inside the
// field-encrypted enc* members (jwe, A256GCMKW). Responses hold only what
// may be stored: token ids, token reference id, last four digits, expiry
// and card art. Input is checked before anything is sent; a refusal is a
// *visa.InputError naming the field.
//
// # Wire quirks
//
// The request types hide the wire's inconsistencies (docs/wire.md §11.4):
// clientReferenceID on attestation options and device binding but
// clientReferenceId on the step-up calls, month, year and date as strings,
// amounts as decimal strings with numeric currencies, base64url merchant
// identifiers, normalized browserData, and reasonCode in the device
// binding query. Responses accept strings or numbers where Visa's sources
// disagree, and codeExpiration in either of its forms.
//
// # Errors and retries
//
// Errors from Visa are *visa.APIError and match the visa sentinels with
// errors.Is: visa.ErrOTPInvalid, visa.ErrOTPExpired,
// visa.ErrOTPLimitExceeded, visa.ErrNotFound (unknown token or enrollment),
// visa.ErrTokenInactive (deleted or suspended token),
// visa.ErrEnrollmentExpired, visa.ErrCardDeclined, visa.ErrCardExpired,
// visa.ErrSessionInvalid, visa.ErrStepUpRequired. Reads (GetToken,
// GetPANEnrollment, GetContent) retry on 429, 5xx and network failures;
// writes retry only when the request provably never reached Visa.
//
// The local sandbox (package sandbox) serves every endpoint, so the
// examples of this package run offline.
package vts
