package agent

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/store"
)

// CancelPurchase cancels a purchase that has not reached the merchant:
// the record becomes CANCELLED and its instruction, if any, is cancelled
// at VIC. A purchase already at the merchant (AUTHORIZING or later) cannot
// be cancelled here (ErrConflict): that is a refund, the merchant's
// business. A live purchase of another process loses its next
// compare-and-swap and stops before the merchant.
func (a *Agent) CancelPurchase(ctx context.Context, transactionID string) error {
	tx, err := a.store.GetTransaction(ctx, transactionID)
	if err != nil {
		return fmt.Errorf("agent: transaction %s: %w", transactionID, err)
	}
	if err := a.cancelTransaction(ctx, tx); err != nil {
		return err
	}
	// Close its journey unless a live purchase holds it (that one sees the
	// cancellation at its next move and closes it).
	if j, err := a.claim(ctx, tx.ID); err == nil {
		cur, _ := a.store.GetTransaction(ctx, tx.ID)
		a.closeJourney(ctx, &j, cur, fmt.Errorf("agent: cancelled by the caller: %w", context.Canceled))
	}
	return nil
}

// cancelTransaction records a purchase as CANCELLED (first, so a live flow
// loses its next move and stops before the merchant), then cancels its
// instruction.
func (a *Agent) cancelTransaction(ctx context.Context, tx store.Transaction) error {
	if merchantCalled(tx.Status) || tx.Status.Final() {
		return fmt.Errorf("agent: transaction %s is %s: %w", tx.ID, tx.Status, store.ErrConflict)
	}
	reason, code := "cancelled by the caller", "cancelled"
	if _, err := a.store.TransitionTransaction(ctx, tx.ID, tx.Status, store.TxCancelled,
		store.TxUpdate{FailureReason: &reason, FailureCode: &code}); err != nil {
		return fmt.Errorf("agent: cancelling %s: %w", tx.ID, err)
	}
	a.cancelInstruction(ctx, &tx, a.resumeAppInstance(ctx, tx))
	return nil
}

// RemoveCard deletes the card's token at VTS and its records (card and
// passkeys). Its transactions stay.
func (a *Agent) RemoveCard(ctx context.Context, userID, tokenID string) error {
	card, err := a.store.GetCard(ctx, tokenID)
	if err != nil {
		return fmt.Errorf("agent: card %s: %w", tokenID, err)
	}
	if card.UserID != userID {
		return visa.NewInputError("TokenID", "is not a card of this user")
	}
	if err := a.removeToken(ctx, tokenID); err != nil {
		return fmt.Errorf("agent: removing card %s: %w", tokenID, err)
	}
	return nil
}

// Transactions yields the stored transactions that match the filter, newest
// first unless f.Order says otherwise; store.CursorAfter makes the cursor of
// the next page. A bad filter (a cursor altered or made for another filter,
// say) yields one *visa.InputError (errors.Is visa.ErrInvalidInput and
// store.ErrInvalid) and nothing else.
func (a *Agent) Transactions(ctx context.Context, f store.TxFilter) iter.Seq2[store.Transaction, error] {
	if err := f.Validate(); err != nil {
		err = asInputError("TxFilter", err)
		return func(yield func(store.Transaction, error) bool) { yield(store.Transaction{}, err) }
	}
	return a.store.ListTransactions(ctx, f)
}

// Cards yields a user's stored cards.
func (a *Agent) Cards(ctx context.Context, userID string) iter.Seq2[store.Card, error] {
	if userID == "" {
		return func(yield func(store.Card, error) bool) {
			yield(store.Card{}, errors.Join(visa.NewInputError("UserID", "is required")))
		}
	}
	return a.store.ListCards(ctx, userID)
}
