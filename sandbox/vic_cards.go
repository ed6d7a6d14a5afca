package sandbox

import (
	"net/http"
)

type enrollCardRequest struct {
	ClientReferenceID      string     `json:"clientReferenceId"`
	ClientReferenceIDUpper string     `json:"clientReferenceID"`
	Client                 *vicClient `json:"client"`
	Consumer               *struct {
		ConsumerID         string `json:"consumerId"`
		NationalIdentifier string `json:"nationalIdentifier"`
		CountryCode        string `json:"countryCode"`
		LanguageCode       string `json:"languageCode"`
		ConsumerIdentity   *struct {
			IdentityType  string `json:"identityType"`
			IdentityValue string `json:"identityValue"`
		} `json:"consumerIdentity"`
	} `json:"consumer"`
	AppInstance             *appInstance `json:"appInstance"`
	EnrollmentReferenceData *struct {
		EnrollmentReferenceID       string `json:"enrollmentReferenceId"`
		EnrollmentReferenceType     string `json:"enrollmentReferenceType"`
		EnrollmentReferenceProvider string `json:"enrollmentReferenceProvider"`
	} `json:"enrollmentReferenceData"`
	AssuranceData []assuranceItem `json:"assuranceData"`
}

// vicRef resolves clientReferenceId for VIC calls (either casing).
func vicRef(lower, upper string) (string, *apiErr) {
	ref, m := refID(upper, lower)
	if m != "" {
		if m == "clientReferenceID is required" {
			m = "clientReferenceId is required"
		}
		return "", vicInvalid("%s", m)
	}
	return ref, nil
}

// redeem redeems a fidoBlob through the Auth half.
func (s *Sandbox) redeem(blob, identifier, tokenID string, kinds ...string) (BlobClaims, *apiErr) {
	claims, err := s.auth.RedeemBlob(blob, BlobWant{TokenID: tokenID, Identifier: identifier, Kinds: kinds})
	if err != nil {
		return BlobClaims{}, vicErr(http.StatusBadRequest, "ASSURANCE_INVALID", "the FIDO assurance is unknown, expired, already used or for another token")
	}
	return claims, nil
}

// enrollCard serves POST /vacp/v1/cards (§6.2).
func (s *Sandbox) enrollCard(c *call) (any, *apiErr) {
	var req enrollCardRequest
	if m := decode(c.body, &req); m != "" {
		return nil, vicInvalid("%s", m)
	}
	ref, e := vicRef(req.ClientReferenceID, req.ClientReferenceIDUpper)
	if e != nil {
		return nil, e
	}
	if e := checkClient(req.Client); e != nil {
		return nil, e
	}
	if req.Consumer == nil {
		return nil, vicInvalid("consumer is required")
	}
	if m := required("consumer.consumerId", req.Consumer.ConsumerID, "consumer.countryCode", req.Consumer.CountryCode,
		"consumer.languageCode", req.Consumer.LanguageCode); m != "" {
		return nil, vicInvalid("%s", m)
	}
	if ci := req.Consumer.ConsumerIdentity; ci == nil {
		return nil, vicInvalid("consumer.consumerIdentity is required")
	} else if m := required("consumer.consumerIdentity.identityType", ci.IdentityType, "consumer.consumerIdentity.identityValue", ci.IdentityValue); m != "" {
		return nil, vicInvalid("%s", m)
	}
	if e := checkAppInstance(req.AppInstance); e != nil {
		return nil, e
	}
	erd := req.EnrollmentReferenceData
	if erd == nil || erd.EnrollmentReferenceID == "" {
		return nil, vicInvalid("enrollmentReferenceData.enrollmentReferenceId is required")
	}
	if e := checkAssurance(req.AssuranceData); e != nil {
		return nil, e
	}
	tokenID := erd.EnrollmentReferenceID
	s.st.mu.Lock()
	_, e = s.vicTokenLocked(tokenID)
	s.st.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if blob, kind, identifier := firstFido(req.AssuranceData); blob != "" {
		claims, e := s.redeem(blob, identifier, tokenID, kind)
		if e != nil {
			return nil, e
		}
		if e := s.checkSteppedUp(tokenID, claims.DeviceID); e != nil {
			return nil, e
		}
	} else if !s.auth.HasPasskey(tokenID, req.AppInstance.ClientDeviceID) {
		return nil, vicErr(http.StatusBadRequest, "ASSURANCE_INVALID", "no FIDO assurance given and no passkey registered for this token on this device")
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, e := s.vicTokenLocked(tokenID)
	if e != nil {
		return nil, e
	}
	t.enrolled, t.consumerID = true, req.Consumer.ConsumerID
	return map[string]any{"clientReferenceId": ref, "status": "ACTIVE", "pendingEvents": []string{}}, nil
}

// checkSteppedUp refuses a passkey ceremony made on a device that never
// completed step-up for the token: a REGISTER context obtained from the
// onboarding probe must not bypass device binding.
func (s *Sandbox) checkSteppedUp(tokenID, deviceID string) *apiErr {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if t, ok := s.st.tokens[tokenID]; !ok || !t.stepUp[deviceID] {
		return vicErr(http.StatusBadRequest, "ASSURANCE_INVALID", "the passkey's device has not completed step-up for this token")
	}
	return nil
}
