package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
	"github.com/vicgo/visa/jwe"
)

// Sandbox is a running local Visa: VTS, VIC, the Auth iFrame, a merchant
// authorizer, a JWKS and the admin API, all on one base URL. Create it with
// New (or Start in tests) and release it with Close.
type Sandbox struct {
	opts  options
	clock Clock
	life  Lifetimes

	keys      *keyMaterial
	signer    *signer
	mleDec    *jwe.MLEDecrypter
	mleEnc128 *jwe.MLEEncrypter
	mleEnc256 *jwe.MLEEncrypter
	field     *jwe.FieldCipher

	auth   authority
	faults *faultInjector
	st     *state

	ln      net.Listener
	srv     *http.Server
	base    string
	useTLS  bool
	handler http.Handler
	// clientCertPEM and clientKeyPEM are the client identity of
	// WithMutualTLS; empty otherwise.
	clientCertPEM, clientKeyPEM []byte

	done      chan struct{}
	served    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New starts a sandbox on loopback (TLS with its own CA unless
// WithPlainHTTP) and returns once it accepts connections.
func New(opts ...Option) (*Sandbox, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.inMemory && o.mutualTLS {
		return nil, errors.New("sandbox: WithInMemory cannot be combined with WithMutualTLS (the in-memory transport speaks no TLS)")
	}
	s := &Sandbox{opts: o, clock: o.clock, life: o.lifetimes.withDefaults(), done: make(chan struct{}), served: make(chan struct{})}
	if err := s.init(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen: %w", err)
	}
	s.ln = ln
	port := ln.Addr().(*net.TCPAddr).Port
	s.useTLS = !o.plainHTTP
	if o.mutualTLS && !s.useTLS {
		_ = ln.Close()
		return nil, errors.New("sandbox: WithMutualTLS needs TLS; it cannot be combined with WithPlainHTTP")
	}
	scheme := "http"
	if s.useTLS {
		scheme = "https"
	}
	s.base = scheme + "://localhost:" + strconv.Itoa(port)
	s.srv = &http.Server{
		Handler: s.handler,
		// Connections outlive the SDK client's idle pool
		// (transport.IdleConnTimeout), so the client always lets go of
		// a connection first. net/http times a connection's first
		// request header from the accept, and a Go client pools the
		// connections it dialed but did not need under concurrency:
		// with a shorter header or idle timeout the server closed
		// pooled connections the client still held, and a POST written
		// into one as it closed failed with "connection reset by peer"
		// or EOF, which a non-idempotent call rightly does not repeat
		// (golang/go#22158).
		ReadHeaderTimeout: 2 * transport.IdleConnTimeout,
		IdleTimeout:       2 * transport.IdleConnTimeout,
		ErrorLog:          slog.NewLogLogger(o.logger.Handler(), slog.LevelDebug),
		// Faults hijack connections, which needs HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if s.useTLS {
		cert, err := s.keys.ca.serverCert()
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
		if o.mutualTLS {
			if s.clientCertPEM, s.clientKeyPEM, err = s.keys.ca.clientCert(); err != nil {
				_ = ln.Close()
				return nil, err
			}
			s.srv.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
			s.srv.TLSConfig.ClientCAs = s.keys.ca.pool()
		}
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// init builds everything but the listener.
func (s *Sandbox) init() error {
	km, err := loadKeys(s.opts)
	if err != nil {
		return err
	}
	s.keys = km
	s.signer = newSigner(km.signing, s.now)
	if s.mleDec, err = jwe.NewMLEDecrypter(km.serverMLE); err != nil {
		return fmt.Errorf("sandbox: MLE: %w", err)
	}
	if s.mleEnc128, err = jwe.NewMLEEncrypter(&km.clientMLE.PublicKey, MLEKeyID, jwe.EncA128GCM); err != nil {
		return fmt.Errorf("sandbox: MLE: %w", err)
	}
	if s.mleEnc256, err = jwe.NewMLEEncrypter(&km.clientMLE.PublicKey, MLEKeyID, jwe.EncA256GCM); err != nil {
		return fmt.Errorf("sandbox: MLE: %w", err)
	}
	if s.field, err = jwe.NewFieldCipher(EncAPIKey, EncSharedSecret); err != nil {
		return fmt.Errorf("sandbox: field cipher: %w", err)
	}
	seed := s.opts.faults.Seed
	if s.opts.seed != nil {
		seed = *s.opts.seed
	}
	s.faults = newFaultInjector(s.opts.faults, seed, s.opts.seed != nil)
	s.st = newState(s.opts.retention, s.opts.maxRetained)
	deps := authDeps{
		now:               s.now,
		baseURL:           s.BaseURL,
		sign:              s.signer.sign,
		verify:            s.signer.verify,
		apiKeyOK:          func(k string) bool { return eq(k, VTSAPIKey) || eq(k, AuthFrameAPIKey) },
		appIDOK:           func(id string) bool { return id == ClientAppID },
		lifetimes:         s.life,
		writeGatewayError: writeGatewayError,
		allowedOrigins:    s.opts.allowedOrigins,
		maxRetained:       s.opts.maxRetained,
		retention:         s.opts.retention,
	}
	s.auth = defaultAuthority(deps)
	s.handler = s.routes()
	return nil
}

func (s *Sandbox) now() time.Time { return s.clock.Now() }

// routes builds the whole handler: correlation id and logging outside,
// then the mux with fault injection per route.
func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h http.Handler) { mux.Handle(pattern, s.faults.wrap(s, pattern, h)) }

	// VTS (docs/wire.md §5)
	route("POST /vts/panEnrollments", s.vts(s.enrollPAN))
	route("GET /vts/panEnrollments/{id}", s.vts(s.getEnrollment))
	route("GET /vts/cps/getContent/{guid}", s.vts(s.getContent))
	route("POST /vts/panEnrollments/{id}/provisionedTokens", s.vts(s.provisionFromEnrollment))
	route("POST /vts/provisionedTokens", s.vts(s.provisionOneStep))
	route("GET /vts/provisionedTokens/{id}", s.vts(s.getToken))
	route("PUT /vts/provisionedTokens/{id}/delete", s.vts(s.deleteToken))
	route("PUT /vts/provisionedTokens/{id}/suspend", s.vts(s.suspendToken))
	route("PUT /vts/provisionedTokens/{id}/resume", s.vts(s.resumeToken))
	route("POST /vts/provisionedTokens/{id}/attestation/options", s.vts(s.attestationOptions))
	route("POST /vts/provisionedTokens/{id}/deviceBinding", s.vts(s.deviceBinding))
	route("PUT /vts/provisionedTokens/{id}/stepUpOptions/method", s.vts(s.stepUpMethod))
	route("POST /vts/provisionedTokens/{id}/stepUpOptions/validateOTP", s.vts(s.validateOTP))

	// VIC (docs/wire.md §6)
	route("POST /vacp/v1/cards", s.vic(s.enrollCard))
	route("POST /vacp/v1/instructions", s.vic(s.createInstruction))
	route("PUT /vacp/v1/instructions/{id}", s.vic(s.updateInstruction))
	route("PUT /vacp/v1/instructions/{id}/cancel", s.vic(s.cancelInstruction))
	route("POST /vacp/v1/instructions/{id}/credentials", s.vic(s.retrieveCredentials))
	route("POST /vacp/v1/instructions/{id}/confirmations", s.vic(s.confirm))

	// Sandbox-only surface (docs/wire.md §11.7)
	route("GET /.well-known/jwks.json", http.HandlerFunc(s.handleJWKS))
	route("GET /vdp/helloworld", http.HandlerFunc(s.handleHelloWorld))
	route("POST /sandbox/v1/merchant/authorizations", http.HandlerFunc(s.handleMerchantAuthorize))
	route("GET /sandbox/v1/merchant/authorizations/{transactionReferenceId}", http.HandlerFunc(s.handleMerchantStatus))

	// Auth iFrame (the other half of the package).
	authMux := http.NewServeMux()
	s.auth.Routes(authMux)
	route("/vts-auth/", authMux)

	// Admin: never faulted.
	mux.HandleFunc("GET /sandbox/v1/admin/state", s.handleAdminState)
	mux.HandleFunc("POST /sandbox/v1/admin/faults", s.handleAdminSetFaults)
	mux.HandleFunc("DELETE /sandbox/v1/admin/faults", s.handleAdminClearFaults)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeGatewayError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint")
	})
	return s.middleware(mux)
}

// middleware sets X-CORRELATION-ID on every response and logs one record
// per request (never a query string, body or secret).
func (s *Sandbox) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header().Set(correlationHeader, id)
		r = r.WithContext(context.WithValue(r.Context(), correlationKey, id))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(sw, r)
		s.opts.logger.LogAttrs(r.Context(), slog.LevelDebug, "sandbox request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)),
			slog.String("correlationId", id))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets handlers that assert http.Flusher directly stream through the
// middleware.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Handler returns the sandbox's HTTP handler, for mounting it in another
// server (the listener of New keeps serving too).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// BaseURL returns the base URL of every surface, e.g.
// https://localhost:43117.
func (s *Sandbox) BaseURL() string { return s.base }

// VICBaseURL returns the VIC base URL; the sandbox serves all three Visa
// surfaces on BaseURL.
func (s *Sandbox) VICBaseURL() string { return s.base }

// VTSBaseURL returns the VTS base URL (the same as BaseURL).
func (s *Sandbox) VTSBaseURL() string { return s.base }

// AuthBaseURL returns the Auth iFrame base URL (the same as BaseURL).
func (s *Sandbox) AuthBaseURL() string { return s.base }

// MerchantURL returns the merchant authorizer's URL (docs/wire.md §9).
func (s *Sandbox) MerchantURL() string { return s.base + "/sandbox/v1/merchant/authorizations" }

// JWKSURL returns the URL of the signedPayload JWKS.
func (s *Sandbox) JWKSURL() string { return s.base + "/.well-known/jwks.json" }

// Addr returns the listener's address (127.0.0.1:port by default).
func (s *Sandbox) Addr() net.Addr { return s.ln.Addr() }

// TLS reports whether the sandbox serves HTTPS.
func (s *Sandbox) TLS() bool { return s.useTLS }

// CACertPEM returns the PEM certificate of the sandbox's CA, or nil when it
// serves plain HTTP.
func (s *Sandbox) CACertPEM() []byte {
	if !s.useTLS {
		return nil
	}
	return append([]byte(nil), s.keys.ca.certPEM...)
}

// Clock returns the sandbox's clock.
func (s *Sandbox) Clock() Clock { return s.clock }

// Lifetimes returns the effective lifetimes.
func (s *Sandbox) Lifetimes() Lifetimes { return s.life }

// MLEServerCertPEM returns the MLE server certificate clients encrypt
// requests to.
func (s *Sandbox) MLEServerCertPEM() []byte { return append([]byte(nil), s.keys.serverMLECert...) }

// MLEClientPrivateKeyPEM returns the client MLE private key (PKCS#1 PEM)
// responses are encrypted for.
func (s *Sandbox) MLEClientPrivateKeyPEM() []byte { return rsaKeyPEM(s.keys.clientMLE) }

// ClientCertPEM returns the client certificate of WithMutualTLS (nil
// without it).
func (s *Sandbox) ClientCertPEM() []byte {
	if len(s.clientCertPEM) == 0 {
		return nil
	}
	return append([]byte(nil), s.clientCertPEM...)
}

// HTTPClient returns an *http.Client that trusts the sandbox's CA (and
// presents the client certificate of WithMutualTLS).
//
// Under WithInMemory it returns a client whose transport is Transport.
func (s *Sandbox) HTTPClient() *http.Client {
	if s.opts.inMemory {
		return &http.Client{Transport: s.Transport(), Timeout: 30 * time.Second}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.useTLS {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.keys.ca.pool(), MinVersion: tls.VersionTLS12}
		if len(s.clientCertPEM) > 0 {
			if cert, err := tls.X509KeyPair(s.clientCertPEM, s.clientKeyPEM); err == nil {
				tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
			}
		}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Config returns a visa.Config ready to talk to this sandbox: the three
// base URLs, every credential, the CA (under TLS) and the JWKS URL.
//
// Under WithInMemory, Config.HTTPClient is HTTPClient (the in-memory
// transport) and Config.TLS is empty: no TLS is spoken.
func (s *Sandbox) Config() visa.Config {
	cfg := s.config()
	if s.opts.inMemory {
		cfg.TLS = visa.TLSConfig{}
		cfg.HTTPClient = s.HTTPClient()
	}
	return cfg
}

func (s *Sandbox) config() visa.Config {
	return visa.Config{
		Environment: visa.Sandbox,
		VICBaseURL:  s.base,
		VTSBaseURL:  s.base,
		AuthBaseURL: s.base,
		VIC: visa.VICCredentials{
			APIKey:                 visa.NewSecret(VICAPIKey),
			SharedSecret:           visa.NewSecret(VICSharedSecret),
			MLEKeyID:               MLEKeyID,
			MLEServerCertPEM:       s.MLEServerCertPEM(),
			MLEClientPrivateKeyPEM: visa.NewSecret(string(s.MLEClientPrivateKeyPEM())),
			MLEEnc:                 visa.MLEEncA128GCM,
			ExternalClientID:       ExternalClientID,
			ExternalAppID:          ClientAppID,
		},
		VTS: visa.VTSCredentials{
			APIKey:                visa.NewSecret(VTSAPIKey),
			SharedSecret:          visa.NewSecret(VTSSharedSecret),
			ClientAppID:           ClientAppID,
			ClientWalletAccountID: ClientWalletAccountID,
			EncAPIKey:             visa.NewSecret(EncAPIKey),
			EncSharedSecret:       visa.NewSecret(EncSharedSecret),
			HashSecret:            visa.NewSecret(HashSecret),
			AuthFrameAPIKey:       AuthFrameAPIKey,
		},
		TLS: visa.TLSConfig{RootCAsPEM: s.CACertPEM(), ClientCertPEM: s.ClientCertPEM(),
			ClientKeyPEM: visa.NewSecret(string(s.clientKeyPEM))},
		SignedPayload: visa.SignedPayloadConfig{JWKSURL: s.JWKSURL(), Issuer: Issuer, Audience: ExternalClientID},
	}
}

// Close stops the server gracefully (in-flight requests finish, injected
// latencies are cut short) and releases the listener. It is safe to call
// more than once.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.srv.Close()
		}
		<-s.served
		s.closeErr = err
	})
	return s.closeErr
}
