package authframe_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/internal/testutil"
)

// The passkey page as a shopper sees it, on a phone (390 x 844) and on a
// laptop (1280 x 800): the Bridge's dialog fits the screen with its Cancel
// bar in view, the Auth iFrame inside it shows the amount and the merchant
// before the purchase passkey, no page scrolls sideways, and the end state
// says what happened (confirmed, cancelled) with a way back to the shop.

// noOverflow is true when the document is no wider than the viewport.
const noOverflow = `document.documentElement.scrollWidth <= window.innerWidth ? "yes" :
	"scrollWidth " + document.documentElement.scrollWidth + " > " + window.innerWidth`

// inView says whether the element of selector is shown, wholly inside the
// viewport.
func inView(selector string) string {
	return fmt.Sprintf(`(() => {
	const el = document.querySelector(%q);
	if (!el) return "missing";
	const r = el.getBoundingClientRect(), s = getComputedStyle(el);
	if (el.closest('[hidden]') || s.visibility !== 'visible' || r.width === 0 || r.height === 0) return "hidden";
	if (r.left < 0 || r.top < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight)
		return "outside: " + JSON.stringify(r) + " in " + window.innerWidth + "x" + window.innerHeight;
	return "yes";
})()`, selector)
}

// frameContext attaches to the Auth iFrame of the tab: a cross-site
// iframe is a target of its own. The attachment ends with the test.
func (e *bridgeEnv) frameContext() context.Context {
	e.t.Helper()
	prefix := e.cfg.AuthBaseURL + "/vts-auth/authenticate"
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		infos, err := chromedp.Targets(e.ctx)
		require.NoError(e.t, err)
		for _, i := range infos {
			if i.Type == "iframe" && strings.HasPrefix(i.URL, prefix) {
				fctx, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(i.TargetID))
				e.t.Cleanup(cancel)
				return fctx
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatal("no Auth iFrame target")
		}
		<-tick.C
	}
}

func evalIn(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	require.NoError(t, err, js)
	return s
}

// waitIn polls js in ctx until it returns want.
func waitIn(t *testing.T, ctx context.Context, js, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		got := evalIn(t, ctx, js)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q, want %q", js, got, want)
		}
		<-tick.C
	}
}

func TestBrowserBridgeLayout(t *testing.T) {
	testutil.RequireChromium(t)
	t.Parallel()
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"phone 390", 390, 844}, {"laptop 1280", 1280, 800}} {
		t.Run(size.name, func(t *testing.T) {
			t.Parallel()
			ctx := browser(t)
			require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(size.width, size.height)))
			addAuthenticator(t, ctx)
			e := newBridgeEnv(t, ctx)
			bg := context.Background()
			channel := e.page()
			assert.Equal(t, "yes", e.eval(noOverflow), "the page before any session")

			j, err := newJourney(e.cfg, e.bridge, nil)
			require.NoError(t, err)
			j.channel = channel
			require.NoError(t, j.provision(bg))
			s, err := j.open(bg)
			require.NoError(t, err)
			ac, err := j.register(bg, s)
			require.NoError(t, err)
			_, err = e.ceremony(s, ac, e.clickContinue, nil)
			require.NoError(t, err)
			require.NoError(t, e.bridge.Close(bg, s))
			assert.Equal(t, "Passkey created", e.eval(`document.getElementById('vpp-end-title').textContent`))

			// A purchase: before the passkey, the dialog fits and the
			// iFrame shows what the passkey confirms.
			s2, err := j.open(bg)
			require.NoError(t, err)
			pay, err := j.pay(bg, s2, "129.99")
			require.NoError(t, err)
			checked := false
			_, err = e.ceremony(s2, pay, e.clickContinue, func() {
				checked = true
				assert.Equal(t, "yes", e.eval(noOverflow), "the Bridge page with the dialog")
				assert.Equal(t, "yes", e.eval(inView(".vpp-box")), "the dialog")
				assert.Equal(t, "yes", e.eval(inView("#vpp-cancel")), "the Cancel bar")
				assert.Equal(t, "yes", e.eval(inView("iframe.vpp-frame")), "the iFrame")
				assert.Equal(t, "true", e.eval(`String(document.getElementById('vpp-end').hidden)`), "no end state yet")
				frame := e.frameContext()
				waitIn(t, frame, `document.getElementById('summary').classList.contains('shown') ? "shown" : "not yet"`, "shown")
				assert.Equal(t, "$129.99", evalIn(t, frame, `document.getElementById('amount').textContent`))
				assert.Equal(t, "to Best Buy", evalIn(t, frame, `document.getElementById('merchant').textContent`))
				assert.Equal(t, "yes", evalIn(t, frame, inView("#amount")), "the amount")
				assert.Equal(t, "yes", evalIn(t, frame, inView("#merchant")), "the merchant")
				assert.Equal(t, "yes", evalIn(t, frame, noOverflow), "the iFrame page")
			})
			require.NoError(t, err)
			require.True(t, checked, "the dialog was shown")
			require.NoError(t, e.bridge.Close(bg, s2))
			assert.Equal(t, "Confirmed.", e.eval(`document.getElementById('vpp-status').textContent`))
			assert.Equal(t, "Payment confirmed", e.eval(`document.getElementById('vpp-end-title').textContent`))
			assert.Equal(t, "yes", e.eval(inView("#vpp-end-title")), "the end state")
			assert.Equal(t, "yes", e.eval(inView("#vpp-back")), "the way back to the shop")
			assert.Equal(t, "yes", e.eval(noOverflow), "the end state page")

			// The shopper cancels with the dialog's Cancel bar.
			s3, err := j.open(bg)
			require.NoError(t, err)
			assert.Equal(t, "true", e.eval(`String(document.getElementById('vpp-end').hidden)`), "a new session clears the end state")
			pay3, err := j.pay(bg, s3, "15.00")
			require.NoError(t, err)
			_, err = e.ceremony(s3, pay3, func() {
				require.NoError(t, chromedp.Do(e.ctx, chromedp.Click("#vpp-cancel")))
			}, nil)
			require.ErrorIs(t, err, authframe.ErrUserCancelled)
			require.NoError(t, e.bridge.Close(bg, s3))
			assert.Equal(t, "Cancelled.", e.eval(`document.getElementById('vpp-status').textContent`))
			assert.Equal(t, "Payment cancelled", e.eval(`document.getElementById('vpp-end-title').textContent`))
			assert.Equal(t, "yes", e.eval(inView("#vpp-back")), "the way back to the shop")
			assert.Equal(t, "yes", e.eval(noOverflow), "the cancelled page")
		})
	}
}
