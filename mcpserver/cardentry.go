package mcpserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/store"
)

// Card entry outside the model: add-card without card arguments answers
// CARD_ENTRY_REQUIRED with a one-time link to a page PagesHandler serves.
// The shopper types the card there; the page validates it, starts the
// add-card journey (tokenizing the card at once) and the conversation goes
// on with add-card-continue. The link carries, signed with a key derived
// from the device key (WithDeviceKey: replicas sharing it accept each
// other's links), who the card is for and until when; its nonce is the
// journey's idempotency key, so the link adds at most one card.

// entryPrefix starts the flowId of a card-entry link not used yet.
const entryPrefix = "entry."

// entryClaims is what a card-entry link says.
type entryClaims struct {
	User     string       `json:"u"`
	Email    string       `json:"e"`
	Country  string       `json:"c"`
	Language string       `json:"l"`
	Device   *DeviceInput `json:"d,omitempty"`
	StepUp   string       `json:"m,omitempty"`
	Expires  int64        `json:"x"`
	Nonce    string       `json:"n"`
}

func (c entryClaims) key() string { return "card-entry:" + c.Nonce }

func (c entryClaims) flowID() string {
	return entryPrefix + base64.RawURLEncoding.EncodeToString([]byte(c.User)) + "." + c.Nonce
}

var errEntryLink = errors.New("this card-entry link is not valid or has expired")

func (s *Server) openEntry(token string) (entryClaims, error) {
	var c entryClaims
	if openSigned(s.entryKey, token, &c) != nil || s.now().Unix() >= c.Expires || c.Nonce == "" || c.User == "" {
		return entryClaims{}, errEntryLink
	}
	return c, nil
}

// startCardEntry answers add-card without a card: the link to the
// card-entry page, opened by the client itself where it supports URL
// elicitation.
func (s *Server) startCardEntry(ctx context.Context, req agent.AddCardRequest, stepUp string) (*FlowResult, error) {
	c := entryClaims{User: req.User.ID, Email: req.User.Email, Country: req.User.Country, Language: req.User.Language,
		StepUp: stepUp, Expires: s.now().Add(s.cardEntryTTL).Unix(), Nonce: rand.Text()}
	if req.Device.ClientDeviceID != s.deviceIDFor(req.User.ID) || req.Device.AppInstance.IPAddress != "127.0.0.1" {
		c.Device = &DeviceInput{ClientDeviceID: req.Device.ClientDeviceID, UserAgent: req.Device.AppInstance.UserAgent,
			IPAddress: req.Device.AppInstance.IPAddress, CountryCode: req.Device.AppInstance.CountryCode}
	}
	return s.cardEntryRound(ctx, c, sign(s.entryKey, c), 0)
}

// cardEntryRound offers the card-entry link: through a URL elicitation
// where the client supports it (then it waits a while, reading the
// journey record, for the card to arrive and goes on with the journey),
// else in the result for the agent to show the user.
func (s *Server) cardEntryRound(ctx context.Context, c entryClaims, token string, round int) (*FlowResult, error) {
	link := s.publicURL + "/card/" + token
	r := &FlowResult{Status: StatusCardEntryRequired, FlowID: c.flowID(), ExpiresAt: stamp(time.Unix(c.Expires, 0)), CardEntryURL: link,
		Next: "give the user cardEntryUrl: they type the card there, never in this chat. When they say it is done, call add-card-continue with flowId"}
	if _, url := clientElicitation(callerFrom(ctx)); !url || round >= maxElicitRounds {
		return r, nil
	}
	res, err := s.ask(ctx, "card:"+c.Nonce, &mcp.ElicitParams{Mode: "url", URL: link, ElicitationID: c.Nonce,
		Message: "Enter your card on the secure card-entry page (the number never passes through the assistant)."},
		pending{Link: token, User: owner(ctx), Round: round + 1})
	if err != nil || res == nil {
		return r, err
	}
	if res.Action != "accept" {
		r.Next = "the user did not open the card-entry page in their client. Offer them cardEntryUrl to open themselves " +
			"(they type the card there, never in this chat), then call add-card-continue with flowId; or leave it: the link expires unused"
		return r, nil
	}
	r.CardEntryURL = ""
	r.Next = "the user is entering the card on the page their client opened; when they say it is done, call add-card-continue with flowId"
	j := s.awaitEntry(ctx, c)
	if j == nil {
		return r, nil
	}
	if ss := callerFrom(ctx).session; ss != nil {
		// Best effort: the client may close the page it opened.
		_ = ss.NotifyElicitationComplete(ctx, &mcp.ElicitationCompleteParams{ElicitationID: c.Nonce})
	}
	return s.addCardRound(ctx, j, "", round+1)
}

// awaitEntry waits, reading the journey record, until the card-entry
// link c has started its journey and the journey has stopped running
// (tokenized, waiting for the user or ended), or the wait timeout passes,
// or the link expires. It works whichever server instance the page was
// posted to. It returns the journey as it stands, or nil when no card
// came.
func (s *Server) awaitEntry(ctx context.Context, c entryClaims) *agent.Journey {
	wait := min(s.waitTimeout, time.Unix(c.Expires, 0).Sub(s.now()))
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(entryPoll)
	defer tick.Stop()
	for {
		j := s.entryJourney(ctx, c.User, c.Nonce)
		if j != nil && j.Status != store.JourneyRunning {
			return j
		}
		select {
		case <-ctx.Done():
			return j
		case <-deadline.C:
			return j
		case <-tick.C:
		}
	}
}

// entryJourney is the journey a card-entry link started, or nil.
func (s *Server) entryJourney(ctx context.Context, userID, nonce string) *agent.Journey {
	rec, err := s.store.GetJourneyByKey(ctx, userID, store.JourneyAddCard, entryClaims{Nonce: nonce}.key())
	if err != nil {
		return nil
	}
	j, err := s.agent.GetJourney(ctx, rec.ID)
	if err != nil {
		return nil
	}
	return j
}

// continueCardEntry answers add-card-continue for a card-entry flowId,
// from the journey record: the page may have been posted to any server
// instance sharing the store.
func (s *Server) continueCardEntry(ctx context.Context, in *ContinueInput) (*FlowResult, error) {
	rest := strings.TrimPrefix(in.FlowID, entryPrefix)
	b64, nonce, ok := strings.Cut(rest, ".")
	user, err := base64.RawURLEncoding.DecodeString(b64)
	if !ok || err != nil || nonce == "" || (owner(ctx) != "" && string(user) != owner(ctx)) {
		return nil, argErr("flowId", "is not an add-card journey of yours (it may have expired)")
	}
	j := s.entryJourney(ctx, string(user), nonce)
	if j == nil {
		if in.Cancel {
			return &FlowResult{Status: StatusCancelled, FlowID: in.FlowID, Next: "no card was entered; the link will expire unused"}, nil
		}
		if in.Method != "" || in.OTP != "" || in.Resend {
			return nil, argErr("flowId", "waits for the card on the card-entry page; no code was sent yet")
		}
		return &FlowResult{Status: StatusCardEntryRequired, FlowID: in.FlowID,
			Next: "the card has not been entered yet: ask the user to use the card-entry link, then call add-card-continue with flowId again"}, nil
	}
	in2 := *in
	in2.FlowID = j.ID
	return s.addCardContinue(ctx, &in2)
}

// PagesHandler serves the pages for the shopper's browser: the card-entry
// page of add-card's links (GET and POST /card/{link}). Mount it where
// WithPublicURL says, with the prefix stripped, for example
//
//	mux.Handle("/pages/", http.StripPrefix("/pages", s.PagesHandler()))
//
// with WithPublicURL("https://mcp.example.com/pages"). The link is the
// capability: the page needs no bearer token. A link adds at most one
// card; a cross-site POST is refused (http.CrossOriginProtection).
func (s *Server) PagesHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /card/{link}", s.cardPage)
	mux.HandleFunc("POST /card/{link}", s.cardPage)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		w.WriteHeader(http.StatusForbidden)
		_ = cardPageTmpl.Execute(w, cardPageData{Fatal: "This form may only be sent from its own page."})
	}))
	return cop.Handler(mux)
}

// maxCardForm bounds the card-entry form's body.
const maxCardForm = 4 << 10

var cardPageTmpl = template.Must(template.New("card").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Add your card</title><style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem}button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}
.err{color:#a00}</style></head><body>
{{if .Done}}<h1>Card received</h1><p>{{.Done}}</p>
{{else if .Fatal}}<h1>Link not usable</h1><p class="err">{{.Fatal}}</p>
{{else}}<h1>Add your card</h1><p>Your card number goes to Visa to be tokenized; it is not shown to the assistant and not kept here.</p>
{{range .Errors}}<p class="err">{{.}}</p>{{end}}
<form method="post" autocomplete="off">
<label for="pan">Card number</label><input id="pan" name="pan" inputmode="numeric" autocomplete="cc-number" required>
<label for="cvv2">Security code (CVV2)</label><input id="cvv2" name="cvv2" inputmode="numeric" autocomplete="cc-csc" required>
<label for="month">Expiry month</label><input id="month" name="month" inputmode="numeric" autocomplete="cc-exp-month" required>
<label for="year">Expiry year (four digits)</label><input id="year" name="year" inputmode="numeric" autocomplete="cc-exp-year" required>
<label for="name">Name on card</label><input id="name" name="name" autocomplete="cc-name">
<button type="submit">Add card</button></form>{{end}}
</body></html>`))

type cardPageData struct {
	Done, Fatal string
	Errors      []string
}

// pageHeaders are the security headers of every page: nothing loads but
// the page's own style, nothing frames it, nothing caches it.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

// pageUsed is the page of a link that already started a journey.
const pageUsed = "This link was already used for a card. Return to your assistant (or ask it for a new link)."

func (s *Server) cardPage(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	page := func(status int, d cardPageData) {
		w.WriteHeader(status)
		_ = cardPageTmpl.Execute(w, d)
	}
	c, err := s.openEntry(r.PathValue("link"))
	if err != nil {
		page(http.StatusNotFound, cardPageData{Fatal: "This card-entry link is not valid or has expired. Ask your assistant for a new one."})
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if s.entryJourney(ctx, c.User, c.Nonce) != nil {
		page(http.StatusGone, cardPageData{Fatal: pageUsed})
		return
	}
	if r.Method == http.MethodGet {
		page(http.StatusOK, cardPageData{})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCardForm)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		page(status, cardPageData{Errors: []string{"The form could not be read; try again."}})
		return
	}
	month, _ := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("month")))
	year, _ := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("year")))
	if year > 0 && year < 100 {
		year += 2000
	}
	in := CardInput{PAN: r.PostForm.Get("pan"), CVV2: strings.TrimSpace(r.PostForm.Get("cvv2")), ExpiryMonth: month, ExpiryYear: year,
		Name: strings.TrimSpace(r.PostForm.Get("name"))}
	var a args
	card := in.card("card", s.now(), true, &a)
	u := UserInput{ID: c.User, Email: c.Email, Country: c.Country, Language: c.Language}.user("user", c.User, &a)
	dev := s.device("device", c.User, c.Country, c.Device, &a)
	if !a.ok() {
		page(http.StatusUnprocessableEntity, cardPageData{Errors: pageErrors(a)})
		return
	}
	j, err := s.agent.StartAddCard(ctx, agent.AddCardRequest{IdempotencyKey: c.key(), User: u, Card: card, Device: dev})
	var fields args
	switch {
	case errors.Is(err, agent.ErrIdempotencyMismatch):
		page(http.StatusGone, cardPageData{Fatal: pageUsed})
		return
	case err != nil && j == nil && fields.library(err, agentFields):
		page(http.StatusUnprocessableEntity, cardPageData{Errors: pageErrors(fields)})
		return
	case err != nil && j == nil:
		code, why := plain(err)
		s.logger.WarnContext(ctx, "mcpserver: card entry failed", "code", code)
		page(http.StatusUnprocessableEntity, cardPageData{Errors: []string{why}})
		return
	}
	// The preferred step-up method needs no question.
	if j.Status == store.JourneyWaiting && j.Next != nil && j.Next.Action == agent.ActionChooseOTPMethod && c.StepUp != "" {
		for _, m := range j.Next.Methods {
			if m.Method == c.StepUp {
				if next, err := s.agent.Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, Method: m.Identifier, UserID: c.User}); err == nil {
					j = next
				}
				break
			}
		}
	}
	msg := "Your card was received. Return to your assistant to finish"
	switch r := s.journeyResult(j); r.Status {
	case StatusCompleted:
		msg = "Your card was added. Return to your assistant."
	case StatusOTPRequired:
		msg += ": Visa sent you a one-time code (" + r.Destination + ")."
	case StatusFailed, StatusCancelled:
		msg = "Your card could not be added: " + r.Error + " Return to your assistant."
	default:
		msg += "."
	}
	page(http.StatusOK, cardPageData{Done: msg})
}

// pageErrors are the problems of a card form, one sentence each, naming
// the field and never its value.
func pageErrors(a args) []string {
	var msgs []string
	for _, e := range a.errs {
		msgs = append(msgs, pageField(e.Field)+" "+e.Reason+".")
	}
	return msgs
}

func pageField(f string) string {
	switch f {
	case "card.pan":
		return "Card number:"
	case "card.cvv2":
		return "Security code:"
	case "card.expiryMonth":
		return "Expiry month:"
	case "card.expiryYear":
		return "Expiry year:"
	case "card.name":
		return "Name:"
	}
	return "Your details (" + f + "):"
}
