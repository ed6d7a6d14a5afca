// Package sandboxtest starts the local Visa sandbox for a Go test. It lives
// apart from package sandbox so that a program serving the sandbox (such as
// cmd/visa-sandbox) does not link the testing package.
//
//	func TestPurchase(t *testing.T) {
//		sb := sandboxtest.Start(t)               // stopped by t.Cleanup
//		client, err := vic.New(sb.Config())
//		...
//	}
package sandboxtest
