package visa_test

import (
	"testing"

	"github.com/vicgo/visa"
)

func BenchmarkParsePAN(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := visa.ParsePAN("4111 1111 1111 1111"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := visa.ParseAmount("129.99", "USD"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAmountValue(b *testing.B) {
	a := visa.MustParseAmount("129.99", "USD")
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Value()
	}
}

func BenchmarkBrowserDataNormalize(b *testing.B) {
	in := visa.BrowserData{
		BrowserJavaEnabled: "False", BrowserJavascriptEnabled: "true", BrowserLanguage: "en-US",
		BrowserColorDepth: "24", BrowserScreenHeight: "1080", BrowserScreenWidth: "1920", BrowserTimeZone: "300",
		UserAgent:     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
		BrowserHeader: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", IPAddress: "203.0.113.7",
	}
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = in.Normalize()
		}
	})
	norm := in.Normalize()
	b.Run("already-normalized", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = norm.Normalize()
		}
	})
}

// BenchmarkReveal measures the one way to a clear value, which every
// signed call takes for its api key and shared secret.
func BenchmarkReveal(b *testing.B) {
	pan, err := visa.ParsePAN("4111 1111 1111 1111")
	if err != nil {
		b.Fatal(err)
	}
	key := visa.NewSecret("SBXVTSAPIKEY01-0123456789abcdef")
	b.Run("PAN", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(pan.Reveal()) != 16 {
				b.Fatal("bad PAN")
			}
		}
	})
	b.Run("Secret", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if key.Reveal() == "" {
				b.Fatal("empty secret")
			}
		}
	})
	b.Run("NewSecret", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			secretSink = visa.NewSecret("SBXVTSAPIKEY01-0123456789abcdef")
		}
	})
}

var secretSink visa.Secret
