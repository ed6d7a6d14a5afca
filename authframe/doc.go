// Package authframe speaks to the Visa Auth iFrame, where the cardholder
// proves who they are with a passkey (journey steps 3, 9, 10 and 12).
//
// The iFrame protocol (docs/wire.md §7) is a short exchange of messages:
//
//	iFrame → AUTH_READY{requestID}
//	parent → CREATE_AUTH_SESSION{requestID, client{id}}
//	iFrame → AUTH_SESSION_CREATED{sessionContext{secureToken}, dfpSessionID, browserData}
//	         (the server calls VTS attestation options with the secureToken)
//	parent → AUTHENTICATE{requestID, authenticationContext}
//	iFrame → AUTH_COMPLETE{assuranceData{fidoBlob, rpID, identifier}}
//	parent → CLOSE_AUTH_SESSION
//
// or a failure event: AUTH_CANCELLED, AUTH_NOT_SUPPORTED, AUTH_NOT_PERFORMED,
// AUTH_FAILED. Message, ParseMessage and the Type constants describe it;
// failures come back as *FrameError matching ErrUserCancelled,
// ErrNotSupported, ErrFailed, ErrTimeout, ErrSessionExpired,
// ErrSecureTokenReused or ErrProtocol.
//
// A Frame runs the protocol for server code. Two implementations exist:
//
//   - Direct performs the server-side handshake of the journey over HTTP (GET
//     for a requestID, POST commands). The local sandbox answers it and
//     plays the cardholder's device; headless agents use it too.
//
//   - Bridge is an http.Handler with embedded JavaScript that a service
//     mounts on its own site: it loads the real iFrame in the cardholder's
//     browser, checks event.origin both ways, falls back to a popup when
//     the iFrame asks for one, and relays events to the Go code waiting on
//     the session:
//
//     bridge, _ := authframe.NewBridge(cfg, authframe.WithPathPrefix("/vpp/"))
//     mux.Handle("/vpp/", http.StripPrefix("/vpp", bridge))
//     defer bridge.Shutdown()
//     ch, _ := bridge.NewChannel()          // one per cardholder page
//     // send the cardholder to bridge.PageURL(ch), then, on the server:
//     s, _ := bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: dev, Channel: ch})
//
// The secureToken of a session is single use (one ceremony) and is never
// persisted; the fidoBlob an AUTH_COMPLETE carries is opaque and prints
// redacted.
package authframe
