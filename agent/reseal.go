package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
)

// ResealReport says what a Reseal run did.
type ResealReport struct {
	// Scanned counts the passkeys looked at.
	Scanned int
	// Resealed counts the passkeys rewritten under the current key (and,
	// for blobs sealed before the device was bound, bound to their device).
	Resealed int
	// Skipped counts the passkeys that changed or went away while Reseal
	// worked on them (a re-registration, a deleted card): the newer row
	// stands, and it is sealed under the current key already.
	Skipped int
	// Failed lists the passkeys that could not be opened: sealed under a
	// key the keyring no longer holds, or damaged. Reseal carries on past
	// them; they keep their old blob.
	Failed []ResealFailure
}

// ResealFailure names a passkey Reseal could not rewrite, and why.
type ResealFailure struct {
	// TokenID and DeviceID name the passkey.
	TokenID, DeviceID string
	// Err wraps a fido error (fido.ErrUnknownKey, fido.ErrOpenFailed, ...);
	// it never holds the blob.
	Err error
}

// Reseal rewraps every stored passkey under the Agent's current sealing key
// (see the package function Reseal).
func (a *Agent) Reseal(ctx context.Context) (ResealReport, error) {
	return Reseal(ctx, a.store, a.sealer)
}

// Reseal rewraps every passkey in st under sealer's current key, so that a
// retired key can leave the keyring, and binds to its device every blob
// sealed before the device was part of the binding (fido.ErrLegacySealed).
//
// Rotation, end to end: put the new key first in the keyring and keep the
// old ones (fido.ParseKeyring "new:…,old:…"), roll it out to every replica
// (new blobs are sealed under it at once), run Reseal, check that Failed is
// empty, then drop the old key.
//
// Reseal is safe to run while agents serve, and resumable:
//   - a passkey already under the current key is only looked at (its key id
//     is read, nothing is decrypted), so a run that was cancelled or crashed
//     is simply run again and carries on where it stopped;
//   - before writing, it reads the row again and writes only if it still
//     holds the blob it resealed, so a passkey registered anew meanwhile is
//     kept (and counted in Skipped). The store offers no compare-and-swap
//     for passkeys, so a re-registration landing between that read and the
//     write would be replaced by the resealed previous passkey; the window
//     is one store round trip, and the previous passkey stays valid;
//   - each rewrite is one PutPasskey, so an interruption leaves every row
//     either as it was or resealed, never half written.
//
// A rewritten row's CreatedAt is the time of the rewrite (PutPasskey sets
// it). Reseal stops at the first store error or when ctx ends, and returns
// what it did so far with the error.
func Reseal(ctx context.Context, st store.Store, sealer *fido.Sealer) (ResealReport, error) {
	var rep ResealReport
	switch {
	case st == nil:
		return rep, visa.NewInputError("Store", "is nil")
	case sealer == nil:
		return rep, visa.NewInputError("Sealer", "is nil")
	}
	// Collect before writing: a Store may hold a cursor open while it yields.
	var tokens []string
	for c, err := range st.ListCards(ctx, "") {
		if err != nil {
			return rep, fmt.Errorf("agent: reseal: listing cards: %w", err)
		}
		tokens = append(tokens, c.TokenID)
	}
	for _, tok := range tokens {
		var pks []store.Passkey
		for p, err := range st.ListPasskeys(ctx, tok) {
			if err != nil {
				return rep, fmt.Errorf("agent: reseal: listing the passkeys of %s: %w", tok, err)
			}
			pks = append(pks, p)
		}
		for _, p := range pks {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			rep.Scanned++
			if !sealer.NeedsRotation(p.SealedBlob) {
				continue
			}
			bind := fido.Binding{UserID: p.UserID, TokenID: p.TokenID, DeviceID: p.DeviceID}
			fresh, err := sealer.Reseal(p.SealedBlob, bind)
			if err != nil {
				rep.Failed = append(rep.Failed, ResealFailure{TokenID: p.TokenID, DeviceID: p.DeviceID, Err: err})
				continue
			}
			wrote, err := replacePasskey(ctx, st, p, fresh)
			if err != nil {
				return rep, err
			}
			if wrote {
				rep.Resealed++
			} else {
				rep.Skipped++
			}
		}
	}
	return rep, nil
}

// replacePasskey writes p with the blob fresh if its row still holds the
// blob p was read with; false means the row changed or went away.
func replacePasskey(ctx context.Context, st store.Store, p store.Passkey, fresh []byte) (bool, error) {
	cur, err := st.GetPasskey(ctx, p.TokenID, p.DeviceID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("agent: reseal: reading the passkey of %s: %w", p.TokenID, err)
	case !bytes.Equal(cur.SealedBlob, p.SealedBlob) || cur.UserID != p.UserID:
		return false, nil
	}
	p.SealedBlob = fresh
	if err := st.PutPasskey(ctx, p); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			return false, nil // the card went away, or changed hands
		}
		return false, fmt.Errorf("agent: reseal: writing the passkey of %s: %w", p.TokenID, err)
	}
	return true, nil
}
