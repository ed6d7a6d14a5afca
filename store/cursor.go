package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"time"
)

// Position is where a listing resumes: after the record with this CreatedAt
// and ID, in the listing's order.
type Position struct {
	CreatedAt time.Time
	ID        string
}

// CursorAfter returns the cursor that continues the listing of f after t:
// pass it as TxFilter.Cursor (with the same filter) to list what follows.
// The cursor is opaque and tamper-evident, and it is bound to the filter:
// another filter refuses it.
func CursorAfter(f TxFilter, t Transaction) string {
	var b bytes.Buffer
	b.WriteByte(cursorVersion)
	b.Write(f.fingerprint())
	_ = binary.Write(&b, binary.BigEndian, Stamp(t.CreatedAt).UnixMicro())
	b.WriteString(t.ID)
	sum := sha256.Sum256(append([]byte(cursorDomain), b.Bytes()...))
	b.Write(sum[:cursorSumLen])
	return base64.RawURLEncoding.EncodeToString(b.Bytes())
}

// After decodes f.Cursor: nil for none, or the position to resume after. A
// cursor that was altered, made for another filter or is not a cursor at all
// is a *ValidationError. Implementations call it (Validate does too).
func (f TxFilter) After() (*Position, error) {
	if f.Cursor == "" {
		return nil, nil
	}
	bad := invalid("filter", "Cursor", "is not a cursor of this listing")
	if len(f.Cursor) > 512 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(f.Cursor) // Strict: no two spellings of one cursor
	const head = 1 + cursorFPLen + 8
	if err != nil || len(raw) < head+1+cursorSumLen || raw[0] != cursorVersion {
		return nil, bad
	}
	body, sum := raw[:len(raw)-cursorSumLen], raw[len(raw)-cursorSumLen:]
	want := sha256.Sum256(append([]byte(cursorDomain), body...))
	if !bytes.Equal(sum, want[:cursorSumLen]) || !bytes.Equal(body[1:1+cursorFPLen], f.fingerprint()) {
		return nil, bad
	}
	micros := int64(binary.BigEndian.Uint64(body[1+cursorFPLen : head]))
	id := string(body[head:])
	if checkID("filter", "Cursor", id, true) != nil {
		return nil, bad
	}
	return &Position{CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}

const (
	cursorVersion = 1
	cursorFPLen   = 8
	cursorSumLen  = 8
	cursorDomain  = "vicgo store cursor v1\x00"
)

// fingerprint identifies what the filter selects and in which order, so a
// cursor made for one listing is refused by another.
func (f TxFilter) fingerprint() []byte {
	st := make([]string, len(f.Status))
	for i, s := range f.Status {
		st[i] = string(s)
	}
	slices.Sort(st)
	st = slices.Compact(st)
	h := sha256.New()
	var flags [3]byte
	if f.NonFinalOnly {
		flags[0] = 1
	}
	if f.Unconfirmed {
		flags[1] = 1
	}
	flags[2] = byte(f.Order)
	h.Write(flags[:])
	for _, s := range append([]string{f.UserID, f.TokenID}, st...) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	return h.Sum(nil)[:cursorFPLen]
}

// Before reports whether a record at (createdAt, id) comes before the
// position p in the order o, that is, whether a listing resumed after p has
// already passed it.
func (p Position) Before(o Order, createdAt time.Time, id string) bool {
	c := createdAt.Compare(p.CreatedAt)
	if c == 0 {
		c = cmpString(id, p.ID)
	}
	if o == OldestFirst {
		return c <= 0
	}
	return c >= 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
