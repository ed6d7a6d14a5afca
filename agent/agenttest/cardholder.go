package agenttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/vts"
)

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
	prompts []agent.OTPPrompt
}

// ErrScriptExhausted is returned when a ScriptedCardholder runs out of
// codes. It wraps the reason the last code was refused, when there was one.
var ErrScriptExhausted = errors.New("agenttest: scripted cardholder has no more codes")

// ChooseStepUp picks Method when offered, else the first method.
func (s *ScriptedCardholder) ChooseStepUp(_ context.Context, offered []vts.StepUpRequest) (vts.StepUpRequest, error) {
	if len(offered) == 0 {
		return vts.StepUpRequest{}, errors.New("agenttest: no step-up method offered")
	}
	for _, o := range offered {
		if o.Method == s.Method {
			return o, nil
		}
	}
	return offered[0], nil
}

// EnterOTP returns the next scripted code.
func (s *ScriptedCardholder) EnterOTP(_ context.Context, p agent.OTPPrompt) (visa.OTP, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompts = append(s.prompts, p)
	if s.next >= len(s.OTPs) {
		if p.LastError != nil {
			return visa.OTP{}, fmt.Errorf("%w (the last code was refused: %w)", ErrScriptExhausted, p.LastError)
		}
		return visa.OTP{}, ErrScriptExhausted
	}
	code := s.OTPs[s.next]
	s.next++
	if code == "resend" {
		return visa.OTP{}, agent.ErrResendOTP
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
func (s *ScriptedCardholder) Prompts() []agent.OTPPrompt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]agent.OTPPrompt(nil), s.prompts...)
}
