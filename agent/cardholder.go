package agent

import (
	"context"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/vts"
)

// Cardholder is the human part of adding a card: choosing where the
// one-time passcode goes and typing it in (journey steps 6 and 7).
// Implementations ask the user through whatever UI the agent has.
type Cardholder interface {
	// ChooseStepUp picks one of the offered step-up methods (their values
	// are masked destinations such as "(***) ***-0123").
	ChooseStepUp(ctx context.Context, offered []vts.StepUpRequest) (vts.StepUpRequest, error)
	// EnterOTP returns the code the user typed. Return ErrResendOTP to ask
	// for a new code (within Visa's limits); any other error abandons
	// adding the card.
	EnterOTP(ctx context.Context, p OTPPrompt) (visa.OTP, error)
}

// OTPPrompt tells the Cardholder what to ask.
type OTPPrompt struct {
	// Method and Destination are the chosen step-up method and its masked
	// value.
	Method      string
	Destination string
	// Attempt counts the codes entered so far for this device binding.
	Attempt int
	// ExpiresAt is when the current code expires.
	ExpiresAt time.Time
	// LastError is why the previous code was refused, if it was.
	LastError error
}
