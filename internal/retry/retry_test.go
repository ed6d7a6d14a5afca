package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
)

// TestClassifyTable is the table of docs/wire.md §10.3, cell by cell:
// status × method × idempotency × provably unsent.
func TestClassifyTable(t *testing.T) {
	t.Parallel()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cert := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	alert := &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}
	type row struct {
		status     int
		method     string
		idempotent bool // Request.Idempotent (a deduplicated write)
		unsent     bool
		err        error
		want       bool
		reason     string
	}
	rows := []row{
		// 429: throttled before processing, so every method is retried.
		{429, "GET", false, false, nil, true, ReasonThrottled},
		{429, "POST", false, false, nil, true, ReasonThrottled},
		{429, "PUT", false, false, nil, true, ReasonThrottled},
		{429, "DELETE", false, false, nil, true, ReasonThrottled},
		{429, "POST", true, false, nil, true, ReasonThrottled},
		// 5xx and 408: reads and idempotent writes only.
		{503, "GET", false, false, nil, true, ReasonServerError},
		{503, "POST", false, false, nil, false, ReasonWriteReached},
		{503, "PUT", false, false, nil, false, ReasonWriteReached},
		{503, "POST", true, false, nil, true, ReasonServerError},
		{500, "GET", false, false, nil, true, ReasonServerError},
		{500, "POST", false, false, nil, false, ReasonWriteReached},
		{502, "HEAD", false, false, nil, true, ReasonServerError},
		{504, "OPTIONS", false, false, nil, true, ReasonServerError},
		{504, "PATCH", false, false, nil, false, ReasonWriteReached},
		{408, "GET", false, false, nil, true, ReasonServerError},
		{408, "POST", false, false, nil, false, ReasonWriteReached},
		{599, "GET", false, false, nil, true, ReasonServerError},
		// Never: 501, 505, 4xx, 3xx, 2xx.
		{501, "GET", false, false, nil, false, ReasonStatus},
		{505, "GET", false, false, nil, false, ReasonStatus},
		{400, "GET", false, false, nil, false, ReasonStatus},
		{404, "POST", true, false, nil, false, ReasonStatus},
		{409, "POST", true, false, nil, false, ReasonStatus},
		{307, "GET", false, false, nil, false, ReasonStatus},
		{200, "POST", false, false, nil, false, ReasonSuccess},
		// No answer, not sent: every method.
		{0, "POST", false, true, refused, true, ReasonUnsent},
		{0, "GET", false, true, refused, true, ReasonUnsent},
		// No answer, may have been sent: reads and idempotent writes only.
		{0, "GET", false, false, reset, true, ReasonNetwork},
		{0, "POST", true, false, reset, true, ReasonNetwork},
		{0, "POST", false, false, reset, false, ReasonWriteReached},
		{0, "PUT", false, false, fmt.Errorf("wrapped: %w", reset), false, ReasonWriteReached},
		// Permanent, whatever the method, sent or not.
		{0, "GET", false, true, cert, false, ReasonPermanent},
		{0, "GET", false, false, alert, false, ReasonPermanent},
		{0, "GET", false, true, tls.RecordHeaderError{}, false, ReasonPermanent},
		{0, "GET", false, false, x509.HostnameError{}, false, ReasonPermanent},
		// Cancellation ends the call.
		{0, "GET", false, true, context.Canceled, false, ReasonCanceled},
		{0, "GET", false, false, fmt.Errorf("x: %w", context.DeadlineExceeded), false, ReasonCanceled},
	}
	for _, r := range rows {
		name := fmt.Sprintf("%d_%s_idem=%v_unsent=%v_%v", r.status, r.method, r.idempotent, r.unsent, r.err)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := Classify(r.status, r.idempotent || Safe(r.method), r.unsent, r.err)
			if d.Retry != r.want || d.Reason != r.reason {
				t.Fatalf("Classify = %+v, want retry=%v reason=%q", d, r.want, r.reason)
			}
		})
	}
}

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for s := 100; s <= 599; s++ {
		want := s == 408 || s == 429 || (s >= 500 && s != 501 && s != 505)
		if got := RetryableStatus(s); got != want {
			t.Errorf("RetryableStatus(%d) = %v", s, got)
		}
	}
}

func TestSafe(t *testing.T) {
	t.Parallel()
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
		if !Safe(m) {
			t.Errorf("%s is safe", m)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, "get"} {
		if Safe(m) {
			t.Errorf("%s is not safe", m)
		}
	}
}
