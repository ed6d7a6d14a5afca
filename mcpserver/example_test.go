package mcpserver_test

import (
	"context"
	"fmt"
	"log"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
)

// ExampleNew builds the server against a local sandbox and lists its tools
// through an MCP client connected in memory.
func ExampleNew() {
	sbx, err := sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		log.Fatal(err)
	}
	defer sbx.Close()
	srv, err := mcpserver.New(sbx.Config())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	ctx := context.Background()
	serverSide, clientSide := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, serverSide, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ss.Wait()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "example-agent"}, nil).Connect(ctx, clientSide, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tool.Name)
	}
	// Output:
	// add-card
	// add-card-continue
	// authenticate-passkey
	// cancel-purchase-instruction
	// confirm-transaction-events
	// confirmations
	// delete-token
	// device-binding-request
	// enroll-card
	// get-device-attestation-options
	// get-token-status
	// get-transaction-credentials
	// initiate-purchase-instruction
	// list-cards
	// list-transactions
	// provision-token-given-pan-data
	// purchase
	// purchase-continue
	// retrieve-payment-credentials
	// submit-idv-step-up-method
	// update-purchase-instruction
	// validate-otp
}
