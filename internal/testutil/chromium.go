package testutil

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// RequireChromium skips the test with one line when Chromium is absent,
// except under CI=true, where the browser tests must run and its absence
// fails the test.
func RequireChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", ChromiumPath, err)
		}
		t.Skip("skipping the browser test: " + ChromiumPath + " is not installed (apt-get install -y chromium)")
	}
}

// ChromiumOptions are the allocator options known to work with headless
// Chromium on the CI machines: headless, no
// sandbox (root), no GPU, no background networking (the network is
// closed), a fresh profile in userDataDir, plus extra.
func ChromiumOptions(userDataDir string, width, height int, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	return append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userDataDir), chromedp.WindowSize(width, height),
	}, extra...)
}
