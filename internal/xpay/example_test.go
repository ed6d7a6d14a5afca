package xpay_test

import (
	"fmt"
	"time"

	"github.com/vicgo/visa/internal/xpay"
)

// Sign the VIC request of docs/wire.md §2.1 and verify it as the sandbox does.
func ExampleSign() {
	body := []byte(`{"encData":"eyJhbGciOi.x.y.z.w"}`)
	path := xpay.ResourcePath("/vacp/v1/instructions/INS-0001/credentials")
	token := xpay.Sign("sbx-vic-shared-secret", 1767225600, path, "apikey=SBXVICAPIKEY01", body)
	fmt.Println(path)
	fmt.Println(token)

	err := xpay.Verify(token, "sbx-vic-shared-secret", path, "apikey=SBXVICAPIKEY01", body,
		time.Unix(1767225600+60, 0), xpay.DefaultSkew)
	fmt.Println("verified:", err == nil)
	// Output:
	// v1/instructions/INS-0001/credentials
	// xv2:1767225600:634215161f1fdb5aa50465a2511874847f42b12c983eb41547dfa5aab711df9c
	// verified: true
}

func ExampleResourcePath() {
	fmt.Println(xpay.ResourcePath("/vacp/v1/cards"))
	fmt.Println(xpay.ResourcePath("/vts/panEnrollments"))
	// Output:
	// v1/cards
	// vts/panEnrollments
}
