package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vicgo/visa/sandbox"
)

// driver is the shoppers' side of the fleet: it calls the replicas' HTTP
// API, waits out restarts, and keeps every reply for the secret scan.
type driver struct {
	replicas []*replica
	hc       *http.Client
	replies  *syncBuffer
	// poll is the interval of every "look again" loop.
	poll time.Duration

	mu  sync.Mutex
	rng *rand.Rand

	transportErrs atomic.Int64
}

func (d *driver) intn(n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.IntN(n)
}

// other picks a slot that is none of avoid, preferring one that is up and,
// among those, one not in prefer-not (soft).
func (d *driver) other(avoid int, softAvoid ...int) int {
	var up, all, soft []int
	for i, r := range d.replicas {
		if i == avoid {
			continue
		}
		all = append(all, i)
		if r.isUp() {
			up = append(up, i)
			skip := false
			for _, s := range softAvoid {
				skip = skip || s == i
			}
			if !skip {
				soft = append(soft, i)
			}
		}
	}
	switch {
	case len(soft) > 0:
		return soft[d.intn(len(soft))]
	case len(up) > 0:
		return up[d.intn(len(up))]
	}
	return all[d.intn(len(all))]
}

// any picks an up slot, or any.
func (d *driver) any() int { return d.other(-1) }

// call sends one request to slot idx and decodes its Reply. A request the
// process never answered (it was killed, or is restarting) is
// errTransport.
func (d *driver) call(ctx context.Context, idx int, method, path string, in any) (Reply, error) {
	r := d.replicas[idx]
	base, err := r.current(ctx)
	if err != nil {
		return Reply{}, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Reply{}, err
		}
		body = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, base+path, body)
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	r.inflight.Add(1)
	resp, err := d.hc.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	r.inflight.Add(-1)
	if err != nil {
		if ctx.Err() != nil {
			return Reply{}, ctx.Err()
		}
		d.transportErrs.Add(1)
		return Reply{}, fmt.Errorf("%w: %s %s on %s: %v", errTransport, method, path, r.name, err)
	}
	_, _ = d.replies.Write(append(data, '\n'))
	if resp.StatusCode != http.StatusOK {
		return Reply{}, fmt.Errorf("%s %s on %s: HTTP %d: %s", method, path, r.name, resp.StatusCode, bytes.TrimSpace(data))
	}
	var rep Reply
	if err := json.Unmarshal(data, &rep); err != nil {
		return Reply{}, fmt.Errorf("%s %s on %s: %w", method, path, r.name, err)
	}
	return rep, nil
}

// pause waits one poll interval (the pace of a loop that looks again), or
// until ctx ends.
func (d *driver) pause(ctx context.Context) error {
	t := time.NewTimer(d.poll)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get reads a journey from any replica, waiting out restarts.
func (d *driver) get(ctx context.Context, id string) (*JourneyView, error) {
	for {
		rep, err := d.call(ctx, d.any(), http.MethodGet, PathJourneys+id, nil)
		switch {
		case errors.Is(err, errTransport):
			if err := d.pause(ctx); err != nil {
				return nil, err
			}
			continue
		case err != nil:
			return nil, err
		case rep.Error != nil:
			return nil, fmt.Errorf("journey %s: %s: %s", id, rep.Error.Kind, rep.Error.Message)
		}
		return rep.Journey, nil
	}
}

// addCard is one add-card intent and what became of it.
type addCard struct {
	i        int
	req      AddCardRequest
	starter  int  // the slot that started the journey
	wrongOTP bool // enter a wrong code first (cleared once entered)
	mistypes bool // the shopper mistypes the first code
	// What happened.
	journeyID    string
	final        *JourneyView
	answered     map[int]int // slot → human steps it answered (with a reply)
	answers      int         // answers sent, with or without a reply
	lost         int         // requests cut by a kill
	busy         int         // ErrJourneyBusy answers
	unexpected   int         // ErrUnexpectedAnswer answers
	startErr     *ErrorView  // the start failed before any journey was recorded
	abandoned    bool        // the deadline passed; the driver cancelled it
	double       bool        // every answer goes to both other replicas at once
	appliedTwice int         // answers two replicas both applied (must be 0)
	trace        []string    // what each request got, for failure messages
	err          error       // a driver failure
}

// runAddCard starts the journey on its starter slot and answers every human
// step on another slot, until the journey is final.
func (d *driver) runAddCard(ctx context.Context, a *addCard) {
	a.answered = map[int]int{}
	var v *JourneyView
	for v == nil {
		rep, err := d.call(ctx, a.starter, http.MethodPost, PathAddCard, a.req)
		a.trace = append(a.trace, traceOf(d.replicas[a.starter].name, "start", rep, err))
		switch {
		case errors.Is(err, errTransport):
			// Killed with the start under way: the same key on the same
			// slot (restarted) returns the journey, if it was recorded.
			a.lost++
			continue
		case err != nil:
			a.err = err
			return
		case rep.Journey != nil:
			v = rep.Journey
		case rep.Error != nil && rep.Error.Kind == KindInput:
			a.startErr, a.err = rep.Error, fmt.Errorf("add-card %d refused: %s", a.i, rep.Error.Message)
			return
		default:
			// No journey in the answer (it lost its lease, say): the key
			// tells the outcome on a repeat.
			a.startErr = rep.Error
			if err := d.pause(ctx); err != nil {
				a.err = err
				return
			}
		}
	}
	a.journeyID = v.ID
	last := -1
	for !final(v.Status) {
		if ctx.Err() != nil {
			d.abandon(a)
			return
		}
		if v.Status != "WAITING" || v.Next == nil {
			// RUNNING: another request works on it, or its process died
			// and the lease must lapse first.
			if err := d.pause(ctx); err != nil {
				d.abandon(a)
				return
			}
			var err error
			if v, err = d.get(ctx, a.journeyID); err != nil {
				d.abandon(a)
				return
			}
			a.trace = append(a.trace, "get: "+v.Status)
			continue
		}
		ans := a.answer(v.Next)
		slots := []int{d.other(a.starter, last)}
		if a.double {
			// The same answer to both other replicas at once.
			slots = slots[:0]
			for i := range d.replicas {
				if i != a.starter {
					slots = append(slots, i)
				}
			}
		}
		last = slots[0]
		replies := make([]Reply, len(slots))
		errs := make([]error, len(slots))
		var wg sync.WaitGroup
		for k, slot := range slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[k], errs[k] = d.call(ctx, slot, http.MethodPost, PathJourneys+a.journeyID+"/answer", ans)
			}()
		}
		wg.Wait()
		a.answers += len(slots)
		var next *JourneyView
		applied := 0
		for k, slot := range slots {
			rep, err := replies[k], errs[k]
			a.trace = append(a.trace, traceOf(d.replicas[slot].name, "answer "+ans.String(), rep, err))
			switch {
			case errors.Is(err, errTransport):
				a.lost++
			case err != nil:
				a.err = err
				return
			case rep.Error == nil:
				a.answered[slot]++
				applied++
				next = rep.Journey
			default:
				a.answered[slot]++
				switch rep.Error.Kind {
				case KindBusy:
					a.busy++
				case KindUnexpected:
					a.unexpected++
				}
				if next == nil && rep.Journey != nil && final(rep.Journey.Status) {
					next = rep.Journey
				}
			}
		}
		if applied > 1 {
			a.appliedTwice++
		}
		if ans.OTP == wrongOTP && applied > 0 {
			a.wrongOTP = false // the right code next
		}
		if next == nil {
			var err error
			if err = d.pause(ctx); err == nil {
				next, err = d.get(ctx, a.journeyID)
			}
			if err != nil {
				d.abandon(a)
				return
			}
		}
		v = next
	}
	a.final = v
}

// history is the journey's trace, one request a line.
func (a *addCard) history() string { return "  " + strings.Join(a.trace, "\n  ") }

// wrongOTP is the code entered first by the shoppers who mistype.
const wrongOTP = "000000"

// answer is the human's answer to a prompt.
func (a *addCard) answer(n *NextView) Answer {
	ans := Answer{PromptID: n.PromptID}
	switch n.Action {
	case "CHOOSE_OTP_METHOD":
		if len(n.Methods) > 0 {
			ans.Method = n.Methods[0]
		}
	case "ENTER_OTP":
		switch {
		case n.AttemptsLeft == 0:
			ans.Resend = true
		case a.wrongOTP:
			ans.OTP = wrongOTP
		default:
			ans.OTP = sandbox.GoldenOTP
		}
	}
	return ans
}

// abandon cancels a journey the driver gave up on (its deadline passed),
// so it does not wait for its human until it expires.
func (d *driver) abandon(a *addCard) {
	a.abandoned = true
	if a.journeyID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		rep, err := d.call(ctx, d.other(a.starter), http.MethodPost, PathJourneys+a.journeyID+"/cancel", nil)
		if err == nil && (rep.Error == nil || rep.Error.Kind == KindOver) {
			a.final = rep.Journey
			return
		}
		_ = d.pause(ctx)
	}
}

func final(status string) bool {
	switch status {
	case "SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED":
		return true
	}
	return false
}

// purchase is one purchase intent and what became of it.
type purchase struct {
	i    int
	req  PurchaseRequest
	slot int
	// repeatSlot, when not -1, is sent the same request at once.
	repeatSlot int
	// replaySlot, when not -1, is sent the same request once the first
	// call has its answer.
	replaySlot int

	first, repeat, replay callResult
	repeated, replayed    bool
	lost, inProgress      int
}

// callResult is the final answer to one call of a purchase.
type callResult struct {
	reply Reply
	err   error
	slot  int
}

// buy sends req to slot until a replica answers with an outcome: after a
// request cut by a kill, the same key goes to another replica; while the
// journey is under way elsewhere (ErrInProgress), it asks again.
func (d *driver) buy(ctx context.Context, p *purchase, slot int, lost, inProgress *int) callResult {
	for {
		rep, err := d.call(ctx, slot, http.MethodPost, PathPurchases, p.req)
		switch {
		case errors.Is(err, errTransport):
			*lost++
			slot = d.other(slot)
			continue
		case err != nil:
			return callResult{err: err, slot: slot}
		case rep.Error != nil && rep.Error.Kind == KindInProgress:
			*inProgress++
			if err := d.pause(ctx); err != nil {
				return callResult{err: err, slot: slot}
			}
			continue
		}
		return callResult{reply: rep, slot: slot}
	}
}

func (d *driver) runPurchase(ctx context.Context, p *purchase) {
	var wg sync.WaitGroup
	var lost2, inProgress2 int
	if p.repeatSlot >= 0 {
		p.repeated = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.repeat = d.buy(ctx, p, p.repeatSlot, &lost2, &inProgress2)
		}()
	}
	p.first = d.buy(ctx, p, p.slot, &p.lost, &p.inProgress)
	wg.Wait()
	p.lost += lost2
	p.inProgress += inProgress2
	if p.replaySlot >= 0 {
		p.replayed = true
		var lost3, inProgress3 int
		p.replay = d.buy(ctx, p, p.replaySlot, &lost3, &inProgress3)
		p.lost += lost3
		p.inProgress += inProgress3
	}
}

// runPool runs f for 0..n-1 on workers goroutines.
func runPool(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// String describes an answer without the code.
func (a Answer) String() string {
	switch {
	case a.Method != "":
		return "method"
	case a.Resend:
		return "resend"
	case a.OTP == wrongOTP:
		return "wrong code"
	case a.OTP != "":
		return "code"
	}
	return "nothing"
}

// traceOf is one line of a journey's trace.
func traceOf(replica, what string, rep Reply, err error) string {
	switch {
	case err != nil:
		return fmt.Sprintf("%s %s: %v", replica, what, err)
	case rep.Error != nil && rep.Journey != nil:
		return fmt.Sprintf("%s %s (%s): %s %s: %s", replica, what, rep.Replica, rep.Journey.Status, rep.Error.Kind, rep.Error.Message)
	case rep.Error != nil:
		return fmt.Sprintf("%s %s (%s): %s: %s", replica, what, rep.Replica, rep.Error.Kind, rep.Error.Message)
	case rep.Journey != nil:
		next := ""
		if rep.Journey.Next != nil {
			next = " " + rep.Journey.Next.Action
		}
		return fmt.Sprintf("%s %s (%s): %s%s", replica, what, rep.Replica, rep.Journey.Status, next)
	}
	return replica + " " + what + ": empty reply"
}
