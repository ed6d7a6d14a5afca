// Package exampleenv sets up what every example needs: a configuration
// (the environment's VISA_* variables, or an in-process sandbox when there
// are none), a store, a sealer for passkeys at rest and a merchant.
package exampleenv
