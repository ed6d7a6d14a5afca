package vic

// The wire structs of the VIC API (docs/wire.md §6). They carry clear
// values and exact JSON names; they are built just before a call and
// never logged.

// wireClient is the "client" object of every VIC call (§6.1).
type wireClient struct {
	ExternalClientID string `json:"externalClientId"`
	ExternalAppID    string `json:"externalAppId"`
	Authorization    string `json:"authorization,omitempty"`
	RelationshipID   string `json:"relationshipId,omitempty"`
	AgentID          string `json:"agentId,omitempty"`
}

type wireIdentity struct {
	IdentityType        string `json:"identityType"`
	IdentityValue       string `json:"identityValue"`
	IdentityProvider    string `json:"identityProvider,omitempty"`
	IdentityProviderURL string `json:"identityProviderUrl,omitempty"`
}

type wireConsumer struct {
	ConsumerID         string       `json:"consumerId"`
	NationalIdentifier string       `json:"nationalIdentifier,omitempty"`
	CountryCode        string       `json:"countryCode"`
	LanguageCode       string       `json:"languageCode"`
	ConsumerIdentity   wireIdentity `json:"consumerIdentity"`
}

type wireEnrollmentRef struct {
	EnrollmentReferenceID       string `json:"enrollmentReferenceId"`
	EnrollmentReferenceType     string `json:"enrollmentReferenceType"`
	EnrollmentReferenceProvider string `json:"enrollmentReferenceProvider"`
}

type wireConsent struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Source         string `json:"source"`
	AcceptedTime   string `json:"acceptedTime"`
	EffectiveUntil string `json:"effectiveUntil,omitempty"`
}

type wireEnrollCard struct {
	ClientReferenceID       string            `json:"clientReferenceId"`
	Client                  wireClient        `json:"client"`
	Consumer                wireConsumer      `json:"consumer"`
	AppInstance             any               `json:"appInstance"`
	EnrollmentReferenceData wireEnrollmentRef `json:"enrollmentReferenceData"`
	AssuranceData           []any             `json:"assuranceData"`
	ConsentData             []wireConsent     `json:"consentData,omitempty"`
}

type wireAmount struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

type wireMandate struct {
	MandateID             string     `json:"mandateId"`
	Description           string     `json:"description"`
	DeclineThreshold      wireAmount `json:"declineThreshold"`
	EffectiveUntilTime    string     `json:"effectiveUntilTime"`
	PreferredMerchantName string     `json:"preferredMerchantName,omitempty"`
	MerchantCategory      string     `json:"merchantCategory,omitempty"`
	MerchantCategoryCode  string     `json:"merchantCategoryCode,omitempty"`
	Quantity              string     `json:"quantity,omitempty"`
	RecurringFrequency    string     `json:"recurringFrequency,omitempty"`
}

type wireInstruction struct {
	ClientReferenceID string        `json:"clientReferenceId"`
	Client            wireClient    `json:"client"`
	AppInstance       any           `json:"appInstance"`
	ConsumerID        string        `json:"consumerId"`
	TokenID           string        `json:"tokenId"`
	InstructionID     string        `json:"instructionId,omitempty"`
	AssuranceData     []any         `json:"assuranceData"`
	Mandates          []wireMandate `json:"mandates"`
	ConsumerPrompt    string        `json:"consumerPrompt,omitempty"`
	IsRecurring       bool          `json:"isRecurring,omitempty"`
	Frequency         string        `json:"frequency,omitempty"`
}

type wireCancel struct {
	ClientReferenceID string     `json:"clientReferenceId"`
	Client            wireClient `json:"client"`
	AppInstance       any        `json:"appInstance"`
	AssuranceData     []any      `json:"assuranceData,omitempty"`
	InstructionID     string     `json:"instructionId,omitempty"`
}

type wireTxAmount struct {
	TransactionAmount       string `json:"transactionAmount"`
	TransactionCurrencyCode string `json:"transactionCurrencyCode"`
}

type wirePhone struct {
	CountryCode       string `json:"countryCode,omitempty"`
	PhoneNumber       string `json:"phoneNumber,omitempty"`
	NumberIsVoiceOnly bool   `json:"numberIsVoiceOnly,omitempty"`
}

type wireContact struct {
	ContactFullName     string     `json:"contactFullName,omitempty"`
	ContactEmailAddress string     `json:"contactEmailAddress,omitempty"`
	ContactPhoneNumber  *wirePhone `json:"contactPhoneNumber,omitempty"`
	Instructions        string     `json:"instructions,omitempty"`
}

type wireAddress struct {
	AddressID              string       `json:"addressId,omitempty"`
	Line1                  string       `json:"line1,omitempty"`
	Line2                  string       `json:"line2,omitempty"`
	City                   string       `json:"city,omitempty"`
	State                  string       `json:"state,omitempty"`
	Zip                    string       `json:"zip,omitempty"`
	CountryCode            string       `json:"countryCode,omitempty"`
	DeliveryContactDetails *wireContact `json:"deliveryContactDetails,omitempty"`
}

type wireTransactionData struct {
	TransactionType        string       `json:"transactionType"`
	TransactionReferenceID string       `json:"transactionReferenceId"`
	TransactionAmount      wireTxAmount `json:"transactionAmount"`
	MerchantName           string       `json:"merchantName"`
	MerchantCountryCode    string       `json:"merchantCountryCode"`
	MerchantURL            string       `json:"merchantUrl"`
	MandateReferenceData   []string     `json:"mandateReferenceData,omitempty"`
	ShippingAddress        *wireAddress `json:"shippingAddress,omitempty"`
}

type wireCredentialsRequest struct {
	ClientReferenceID string                `json:"clientReferenceId"`
	Client            wireClient            `json:"client"`
	TokenID           string                `json:"tokenId"`
	InstructionID     string                `json:"instructionId,omitempty"`
	TransactionData   []wireTransactionData `json:"transactionData"`
}

type wirePaymentConfirmation struct {
	DynamicDataID            string            `json:"dynamicDataId"`
	TransactionType          string            `json:"transactionType"`
	TransactionStatus        TransactionStatus `json:"transactionStatus"`
	TransactionTimestamp     string            `json:"transactionTimestamp"`
	ResponseCode             string            `json:"responseCode,omitempty"`
	AuthorizationCode        string            `json:"authorizationCode,omitempty"`
	RetrievalReferenceNumber string            `json:"retrievalReferenceNumber,omitempty"`
	SystemTraceAuditNumber   string            `json:"systemTraceAuditNumber,omitempty"`
	TransactionAmount        wireTxAmount      `json:"transactionAmount"`
	CardEntryMode            string            `json:"cardEntryMode,omitempty"`
}

type wireOrder struct {
	OrderID              string        `json:"orderId,omitempty"`
	OrderStatus          string        `json:"orderStatus,omitempty"`
	OrderDate            string        `json:"orderDate,omitempty"`
	ExpectedDeliveryDate string        `json:"expectedDeliveryDate,omitempty"`
	TransactionAmount    *wireTxAmount `json:"transactionAmount,omitempty"`
}

type wireMerchant struct {
	MerchantName string `json:"merchantName,omitempty"`
}

type wireShipping struct {
	TrackingID      string       `json:"trackingId,omitempty"`
	Carrier         string       `json:"carrier,omitempty"`
	ShippingMethod  string       `json:"shippingMethod,omitempty"`
	ShippingAddress *wireAddress `json:"shippingAddress,omitempty"`
}

type wireConfirmation struct {
	TransactionReferenceID  string                  `json:"transactionReferenceId"`
	PaymentConfirmationData wirePaymentConfirmation `json:"paymentConfirmationData"`
	OrderData               *wireOrder              `json:"orderData,omitempty"`
	MerchantData            *wireMerchant           `json:"merchantData,omitempty"`
	ShippingData            *wireShipping           `json:"shippingData,omitempty"`
}

type wireConfirmRequest struct {
	ClientReferenceID string             `json:"clientReferenceId"`
	Client            wireClient         `json:"client"`
	InstructionID     string             `json:"instructionId,omitempty"`
	ConfirmationData  []wireConfirmation `json:"confirmationData"`
}

// wireStatus is the common VIC response shape.
type wireStatus struct {
	ClientReferenceID string         `json:"clientReferenceId"`
	InstructionID     string         `json:"instructionId"`
	Status            Status         `json:"status"`
	SignedPayload     string         `json:"signedPayload"`
	PendingEvents     []PendingEvent `json:"pendingEvents"`
}
