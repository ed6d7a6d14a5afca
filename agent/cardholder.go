package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
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

// ScriptedCardholder answers from a script: it picks the first offered
// method of Method (or the first offered), then enters OTPs in order. For
// tests, demos and headless agents that receive codes out of band.
type ScriptedCardholder struct {
	// Method is the preferred step-up method, e.g. vts.MethodOTPSMS.
	Method string
	// OTPs are entered in order; "resend" asks for a new code.
	OTPs []string

	mu      sync.Mutex
	next    int
	prompts []OTPPrompt
}

// ErrScriptExhausted is returned when a ScriptedCardholder runs out of codes.
var ErrScriptExhausted = errors.New("agent: scripted cardholder has no more codes")

// ChooseStepUp picks Method when offered, else the first method.
func (s *ScriptedCardholder) ChooseStepUp(_ context.Context, offered []vts.StepUpRequest) (vts.StepUpRequest, error) {
	if len(offered) == 0 {
		return vts.StepUpRequest{}, errors.New("agent: no step-up method offered")
	}
	for _, o := range offered {
		if o.Method == s.Method {
			return o, nil
		}
	}
	return offered[0], nil
}

// EnterOTP returns the next scripted code.
func (s *ScriptedCardholder) EnterOTP(_ context.Context, p OTPPrompt) (visa.OTP, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompts = append(s.prompts, p)
	if s.next >= len(s.OTPs) {
		return visa.OTP{}, ErrScriptExhausted
	}
	code := s.OTPs[s.next]
	s.next++
	if code == "resend" {
		return visa.OTP{}, ErrResendOTP
	}
	return visa.ParseOTP(code)
}

// String describes the script without its codes.
func (s *ScriptedCardholder) String() string {
	return fmt.Sprintf("ScriptedCardholder{Method: %q, OTPs: %d codes}", s.Method, len(s.OTPs))
}

// Format prints String for every verb, so the codes never print.
func (s *ScriptedCardholder) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue keeps the codes out of slog records.
func (s *ScriptedCardholder) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps the codes out of JSON.
func (s *ScriptedCardholder) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"method": s.Method, "codes": len(s.OTPs)})
}

// Prompts returns the prompts seen so far.
func (s *ScriptedCardholder) Prompts() []OTPPrompt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]OTPPrompt(nil), s.prompts...)
}
