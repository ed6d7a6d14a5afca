// Package vts is the Visa Token Service client: it turns a card into a
// token for an AI agent, binds the token to the consumer's device with a
// one-time passcode, and asks Visa how to authenticate the consumer with
// a passkey.
//
// Build one Client per visa.Config and call its methods; each method names
// the VTS endpoint and the seed step it serves:
//
//	c, err := vts.New(cfg)
//	enr, err := c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: exp}})    // step 1
//	tok, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, ...})    // step 2
//	// step 3: an Auth iFrame session gives SessionContext and BrowserData
//	ref := vts.NewClientReferenceID()                                                                            // one per flow
//	opt, err := c.AttestationOptions(ctx, vts.AttestationOptionsRequest{Type: visa.ActionAuthenticate, ...})     // step 4: probe
//	bind, err := c.DeviceBinding(ctx, vts.DeviceBindingRequest{ClientReferenceID: ref, ...})                     // step 5
//	sel, err := c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{StepUpRequestID: bind.StepUpRequest[0].Identifier, ...}) // step 6
//	_, err = c.ValidateOTP(ctx, vts.ValidateOTPRequest{OTP: otp, ...})                                           // step 7: token ACTIVE
//	reg, err := c.AttestationOptions(ctx, vts.AttestationOptionsRequest{Type: visa.ActionRegister, ...})         // step 8
//	// steps 9-12: the passkey ceremonies happen in the Auth iFrame; step 11 is
//	// AttestationOptions again, with the purchase amount and merchant.
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
// The request types hide the wire's inconsistencies (visa-wire.md §11.4):
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
