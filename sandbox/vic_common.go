package sandbox

import (
	"net/http"

	"github.com/vicgo/visa"
)

// VIC error helpers.
func vicInvalid(format string, args ...any) *apiErr {
	return errf(http.StatusBadRequest, "INVALID_REQUEST", format, args...)
}

func vicErr(status int, code, format string, args ...any) *apiErr {
	return errf(status, code, format, args...)
}

// vicClient is the "client" object of every VIC call (§6.1).
type vicClient struct {
	ExternalClientID string `json:"externalClientId"`
	ExternalAppID    string `json:"externalAppId"`
	Authorization    string `json:"authorization"`
	RelationshipID   string `json:"relationshipId"`
	AgentID          string `json:"agentId"`
}

func checkClient(c *vicClient) *apiErr {
	if c == nil {
		return vicInvalid("client is required")
	}
	if m := required("client.externalClientId", c.ExternalClientID, "client.externalAppId", c.ExternalAppID); m != "" {
		return vicInvalid("%s", m)
	}
	if c.ExternalClientID != ExternalClientID {
		return vicInvalid("client.externalClientId is not known")
	}
	return nil
}

// checkOptionalClient checks client where Visa's own examples send none
// (cancel and confirmations, docs/wire.md §6.1): absent is fine, present
// is checked like everywhere else.
func checkOptionalClient(c *vicClient) *apiErr {
	if c == nil {
		return nil
	}
	return checkClient(c)
}

// appInstance is §6.1 appInstance.
type appInstance struct {
	UserAgent       string `json:"userAgent"`
	ApplicationName string `json:"applicationName"`
	CountryCode     string `json:"countryCode"`
	IPAddress       string `json:"ipAddress"`
	ClientDeviceID  string `json:"clientDeviceId"`
	DeviceData      *struct {
		Type         string `json:"type"`
		Manufacturer string `json:"manufacturer"`
		Brand        string `json:"brand"`
		Model        string `json:"model"`
	} `json:"deviceData"`
}

func checkAppInstance(a *appInstance) *apiErr {
	if a == nil {
		return vicInvalid("appInstance is required")
	}
	if m := required("appInstance.userAgent", a.UserAgent, "appInstance.applicationName", a.ApplicationName,
		"appInstance.countryCode", a.CountryCode, "appInstance.ipAddress", a.IPAddress,
		"appInstance.clientDeviceId", a.ClientDeviceID); m != "" {
		return vicInvalid("%s", m)
	}
	if a.DeviceData == nil {
		return vicInvalid("appInstance.deviceData is required")
	}
	if m := required("appInstance.deviceData.type", a.DeviceData.Type, "appInstance.deviceData.brand", a.DeviceData.Brand); m != "" {
		return vicInvalid("%s", m)
	}
	return nil
}

type codeHolder struct {
	Code string `json:"code"`
}

// assuranceItem is one element of assuranceData (§6.1).
type assuranceItem struct {
	VerificationType      string   `json:"verificationType"`
	VerificationEntity    string   `json:"verificationEntity"`
	VerificationEvents    []string `json:"verificationEvents"`
	VerificationMethod    string   `json:"verificationMethod"`
	VerificationResults   string   `json:"verificationResults"`
	VerificationTimestamp string   `json:"verificationTimestamp"`
	MethodResults         *struct {
		DfpSessionID        string      `json:"dfpSessionId"`
		Identifier          string      `json:"identifier"`
		FidoAttestationData *codeHolder `json:"fidoAttestationData"`
		FidoAssertionData   *codeHolder `json:"fidoAssertionData"`
	} `json:"methodResults"`
	AdditionalData string `json:"additionalData"`
}

// fido returns the blob, its kind and the identifier of an element.
func (a *assuranceItem) fido() (blob, kind, identifier string) {
	if a.MethodResults == nil {
		return "", "", ""
	}
	mr := a.MethodResults
	switch {
	case mr.FidoAttestationData != nil && mr.FidoAttestationData.Code != "":
		return mr.FidoAttestationData.Code, BlobAttestation, mr.Identifier
	case mr.FidoAssertionData != nil && mr.FidoAssertionData.Code != "":
		return mr.FidoAssertionData.Code, BlobAssertion, mr.Identifier
	}
	return "", "", mr.Identifier
}

// checkAssurance validates the shape of assuranceData[i].
func checkAssurance(list []assuranceItem) *apiErr {
	for i := range list {
		a := &list[i]
		p := "assuranceData[" + itoa(i) + "]."
		if m := required(p+"verificationType", a.VerificationType, p+"verificationEntity", a.VerificationEntity,
			p+"verificationMethod", a.VerificationMethod, p+"verificationResults", a.VerificationResults,
			p+"verificationTimestamp", a.VerificationTimestamp); m != "" {
			return vicInvalid("%s", m)
		}
		if len(a.VerificationEvents) == 0 {
			return vicInvalid("%sverificationEvents is required", p)
		}
		if _, ok := epochSeconds(a.VerificationTimestamp); !ok {
			return vicInvalid("%sverificationTimestamp must be epoch seconds (at most 12 digits)", p)
		}
		if blob, _, _ := a.fido(); blob != "" {
			if a.VerificationMethod != "23" {
				return vicInvalid(`%sverificationMethod must be "23" (FIDO) when FIDO data is present`, p)
			}
			if a.MethodResults.Identifier == "" {
				return vicInvalid("%smethodResults.identifier is required", p)
			}
		}
	}
	return nil
}

// firstFido returns the first element that carries FIDO data.
func firstFido(list []assuranceItem) (blob, kind, identifier string) {
	for i := range list {
		if b, k, id := list[i].fido(); b != "" {
			return b, k, id
		}
	}
	return "", "", ""
}

// amountObj is {"transactionAmount":"129.99","transactionCurrencyCode":"USD"}.
type amountObj struct {
	TransactionAmount       flexString `json:"transactionAmount"`
	TransactionCurrencyCode string     `json:"transactionCurrencyCode"`
}

func (a *amountObj) parse(field string) (visa.Amount, *apiErr) {
	if a == nil {
		return visa.Amount{}, vicInvalid("%s is required", field)
	}
	if m := required(field+".transactionAmount", string(a.TransactionAmount), field+".transactionCurrencyCode", a.TransactionCurrencyCode); m != "" {
		return visa.Amount{}, vicInvalid("%s", m)
	}
	amt, err := visa.ParseAmount(string(a.TransactionAmount), a.TransactionCurrencyCode)
	if err != nil {
		return visa.Amount{}, vicInvalid("%s is not a valid amount in a known currency", field)
	}
	return amt, nil
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// vicTokenLocked finds a token for a VIC call; st.mu is held.
func (s *Sandbox) vicTokenLocked(id string) (*token, *apiErr) {
	t, ok := s.st.tokens[id]
	if !ok {
		return nil, vicErr(http.StatusNotFound, "TOKEN_NOT_FOUND", "no such token")
	}
	if t.status != visa.TokenActive {
		return nil, vicErr(http.StatusBadRequest, "TOKEN_NOT_ACTIVE", "the token is %s", t.status)
	}
	return t, nil
}
