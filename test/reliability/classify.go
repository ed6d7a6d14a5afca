package reliability

import (
	"context"
	"errors"
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/vic"
)

// ErrorClass names the typed family of an error returned by the SDK's
// clients or the agent: a *visa.APIError with its status, a visa or agent
// sentinel, a network failure (visa.ErrNetwork; *visa.RequestError
// inside the module), an authframe failure or a context error. "" means the error is none of the types the SDK
// documents, which the chaos and fuzz tests treat as a failure.
func ErrorClass(err error) string {
	var api *visa.APIError
	var req *visa.RequestError
	var fe *authframe.FrameError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, agent.ErrDeclined):
		return "declined (agent.ErrDeclined)"
	case errors.Is(err, agent.ErrChargedUnconfirmed):
		return "agent.ErrChargedUnconfirmed"
	case errors.Is(err, agent.ErrOutcomeUnknown):
		return "agent.ErrOutcomeUnknown"
	case errors.Is(err, agent.ErrOwnershipLost):
		return "agent.ErrOwnershipLost"
	case errors.Is(err, agent.ErrInProgress):
		return "agent.ErrInProgress"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	case errors.Is(err, visa.ErrResponseTooLarge):
		return "visa.ErrResponseTooLarge"
	case errors.Is(err, visa.ErrMalformedResponse):
		return "visa.ErrMalformedResponse"
	case errors.Is(err, visa.ErrEncryption):
		return "visa.ErrEncryption"
	case errors.As(err, &api):
		return fmt.Sprintf("*visa.APIError %d", api.HTTPStatus)
	case errors.As(err, &req):
		return "*visa.RequestError (visa.ErrNetwork)"
	case errors.Is(err, visa.ErrNetwork):
		return "visa.ErrNetwork"
	case errors.As(err, &fe):
		return "*authframe.FrameError " + fe.Code
	case errors.Is(err, agent.ErrSuperseded):
		return "agent.ErrSuperseded"
	case errors.Is(err, agent.ErrNoAuthorization):
		return "agent.ErrNoAuthorization"
	}
	for _, s := range []error{authframe.ErrFailed, authframe.ErrTimeout, authframe.ErrSessionExpired,
		authframe.ErrSecureTokenReused, authframe.ErrProtocol, authframe.ErrMalformedMessage, authframe.ErrUserCancelled,
		visa.ErrAssuranceInvalid, visa.ErrInstructionExpired, visa.ErrServerUnavailable, visa.ErrRateLimited,
		vic.ErrKeysUnavailable, vic.ErrPayloadInvalid} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return ""
}
