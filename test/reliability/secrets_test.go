package reliability

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/vts"
)

// newSecrets is the shared scanner (internal/testutil) primed with the
// sandbox's api keys and shared secrets and the CVV2 this suite types.
func newSecrets() *testutil.Secrets {
	s := testutil.NewSecrets()
	for name, v := range map[string]string{
		"VIC api key": sandbox.VICAPIKey, "VTS api key": sandbox.VTSAPIKey, "enc api key": sandbox.EncAPIKey,
		"VIC shared secret": sandbox.VICSharedSecret, "VTS shared secret": sandbox.VTSSharedSecret,
		"enc shared secret": sandbox.EncSharedSecret, "hash secret": sandbox.HashSecret,
	} {
		s.Add(name, v)
	}
	s.Add("CVV2", testCVV2)
	return s
}

// capturingFrame wraps the Auth iFrame to learn every secureToken and
// fidoBlob of the journey.
type capturingFrame struct {
	authframe.Frame
	s *testutil.Secrets
}

func (f capturingFrame) Open(ctx context.Context, req authframe.OpenRequest) (*authframe.Session, error) {
	s, err := f.Frame.Open(ctx, req)
	if err == nil && s != nil {
		f.s.Add("secureToken", s.SessionContext.SecureToken.Reveal())
	}
	return s, err
}

func (f capturingFrame) Authenticate(ctx context.Context, s *authframe.Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	a, err := f.Frame.Authenticate(ctx, s, ac)
	if err == nil {
		f.s.Add("fidoBlob", a.FidoBlob.Reveal())
	}
	return a, err
}

// TestSecretHygieneJourneys runs the agent's journeys (happy, merchant
// decline, wrong OTPs, OTP lock-out, passkey cancelled, crash and Resume)
// at debug level, on memstore and on SQLite, and searches every log
// record (SDK, agent and sandbox), error string, formatted value, panic
// message and stored row for the secrets of the journey.
func TestSecretHygieneJourneys(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memstore", "sqlstore"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			secretHygieneJourney(t, kind)
		})
	}
}

func secretHygieneJourney(t *testing.T, kind string) {
	ctx := ctxTimeout(t, 2*time.Minute)
	sec := newSecrets()
	logs, sbxLogs := &syncBuffer{}, &syncBuffer{}
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP(), sandbox.WithLogger(debugLogger(sbxLogs)))
	cfg := sbx.Config()
	cfg.Logger = debugLogger(logs)
	sec.Add("MLE client private key", strings.TrimSpace(strings.Split(cfg.VIC.MLEClientPrivateKeyPEM.Reveal(), "\n")[1]))

	var st store.Store
	var dbPath string
	switch kind {
	case "memstore":
		m, err := memstore.New()
		require.NoError(t, err)
		st = m
	case "sqlstore":
		dbPath = filepath.Join(t.TempDir(), "hygiene.db")
		s, err := sqlite.Open(ctx, dbPath)
		require.NoError(t, err)
		st = s
	}
	t.Cleanup(func() { _ = st.Close() })
	direct, err := authframe.NewDirect(cfg)
	require.NoError(t, err)
	frame := capturingFrame{Frame: direct, s: sec}
	m, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	require.NoError(t, err)
	var errs []string
	var mu sync.Mutex
	keepErr := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
			mu.Unlock()
		}
	}
	sealer := newSealer(t)
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithFrame(frame),
		agent.WithProgress(func(p agent.Progress) { keepErr(p.Err) }))
	require.NoError(t, err)

	var formatted []any
	addCard := func(n int, pan string, otps ...string) (*agent.AddCardResult, error) {
		sec.Add("PAN", pan)
		for _, o := range otps {
			sec.Add("OTP", o)
		}
		ch := &agenttest.ScriptedCardholder{Method: vts.MethodOTPSMS, OTPs: otps}
		req := agent.AddCardRequest{User: user(n), Card: card(t, pan), Device: device(n), Cardholder: ch}
		res, err := a.AddCard(ctx, req)
		keepErr(err)
		for _, p := range ch.Prompts() {
			keepErr(p.LastError)
		}
		formatted = append(formatted, req, res, ch.Prompts())
		if err == nil {
			tp, ok := sbx.TokenPAN(res.Card.TokenID)
			require.True(t, ok)
			sec.Add("token PAN", tp)
		}
		return res, err
	}
	buy := func(a *agent.Agent, n int, c store.Card, amount string) *agent.Receipt {
		req := purchaseReq(user(n), c, device(n), amount)
		rec, err := a.Purchase(ctx, req)
		keepErr(err)
		formatted = append(formatted, req, rec)
		if rec != nil {
			sec.AddDynamic("dynamic value", rec.Credential.DynamicDataValue.Reveal())
			sec.Add("token PAN", rec.Credential.PaymentToken.Reveal())
		}
		return rec
	}

	// Happy path, with two wrong codes first.
	res, err := addCard(1, sandbox.CardHappy, "111222", "333444", sandbox.GoldenOTP)
	require.NoError(t, err)
	require.NotNil(t, buy(a, 1, res.Card, "129.99"))
	// Merchant decline.
	res, err = addCard(2, sandbox.CardInsufficientFunds, sandbox.GoldenOTP)
	require.NoError(t, err)
	buy(a, 2, res.Card, "50.00")
	// OTP lock-out, provisioning decline, no step-up.
	locked := make([]string, 12)
	for i := range locked {
		locked[i] = fmt.Sprintf("%d", 713580+i*97)
	}
	_, err = addCard(3, "4556737586899855", locked...)
	require.Error(t, err)
	_, err = addCard(4, sandbox.CardProvisioningDeclined, sandbox.GoldenOTP)
	require.Error(t, err)
	res, err = addCard(5, sandbox.CardNoStepUp)
	require.NoError(t, err)
	// A crash after the charge, then Resume.
	crashing, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithFrame(frame),
		agenttest.WithInterrupt(func(b agenttest.Boundary) bool { return b == agenttest.AfterCharge }))
	require.NoError(t, err)
	buy(crashing, 5, res.Card, "12.00")
	rep, err := a.Reconcile(ctx)
	keepErr(err)
	formatted = append(formatted, rep)
	// The user cancels the passkey ceremony.
	cancelDirect, err := authframe.NewDirect(cfg, authframe.WithDirectHeader("X-Sandbox-Auth-Outcome", "CANCELLED"))
	require.NoError(t, err)
	cancelling, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithFrame(capturingFrame{Frame: cancelDirect, s: sec}))
	require.NoError(t, err)
	buy(cancelling, 5, res.Card, "13.00")
	formatted = append(formatted, cfg, sbx.Config())

	nLong, nShort, _ := sec.Counts()
	require.Positive(t, nLong, "secrets were captured")
	t.Logf("%s: %d long and %d short secrets, %d log bytes, %d sandbox log bytes, %d error strings",
		kind, nLong, nShort, len(logs.String()), len(sbxLogs.String()), len(errs))

	sec.Check(t, "the SDK's debug log", logs.String(), testutil.JSON)
	sec.Check(t, "the sandbox's debug log", sbxLogs.String(), testutil.JSON)
	sec.Check(t, "an error string", strings.Join(errs, "\n"), testutil.Text)
	for i, v := range formatted {
		where := fmt.Sprintf("formatted value %d (%T)", i, v)
		// A Config holds PEM bytes, which %v prints as decimal numbers:
		// only the long secrets are meaningful there.
		text, js := testutil.Text, testutil.JSON
		if _, ok := v.(visa.Config); ok {
			text, js = testutil.LongOnly, testutil.LongOnly
		}
		sec.Check(t, where, fmt.Sprintf("%v\n%+v\n%#v", v, v, v), text)
		if b, err := json.Marshal(v); err == nil {
			sec.Check(t, where+" as JSON", string(b), js)
		}
		var lb syncBuffer
		slog.New(slog.NewJSONHandler(&lb, nil)).Info("value", "v", v)
		sec.Check(t, where+" logged", lb.String(), js)
		sec.Check(t, where+" as a panic", panicMessage(v), text)
	}

	// Every stored row; the sealed blobs (binary) are searched for the long
	// secrets only.
	var rows, blobs strings.Builder
	for _, n := range []int{1, 2, 3, 4, 5} {
		u, err := st.GetUser(ctx, user(n).ID)
		if err == nil {
			fmt.Fprintf(&rows, "%+v\n", u)
		}
		for c, err := range st.ListCards(ctx, user(n).ID) {
			require.NoError(t, err)
			fmt.Fprintf(&rows, "%+v\n", c)
			for p, err := range st.ListPasskeys(ctx, c.TokenID) {
				require.NoError(t, err)
				blobs.Write(p.SealedBlob)
				p.SealedBlob = nil
				fmt.Fprintf(&rows, "%+v\n", p)
			}
		}
	}
	for tx, err := range st.ListTransactions(ctx, store.TxFilter{}) {
		require.NoError(t, err)
		fmt.Fprintf(&rows, "%+v\n", tx)
	}
	sec.Check(t, "a stored record", rows.String(), testutil.Text)
	sec.Check(t, "a sealed passkey", blobs.String(), testutil.LongOnly)
	if dbPath != "" {
		text, raw := dumpSQLite(t, dbPath)
		sec.Check(t, "a SQLite row", text, testutil.Text)
		sec.Check(t, "a SQLite blob", raw, testutil.LongOnly)
	}
}

// panicMessage is what a recovered panic carrying v prints.
func panicMessage(v any) (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	panic(v)
}

// dumpSQLite returns every row of every table of the database as text
// (binary columns in hex), and the binary columns raw.
func dumpSQLite(t *testing.T, path string) (text, raw string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	var tables []string
	rs, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	require.NoError(t, err)
	for rs.Next() {
		var n string
		require.NoError(t, rs.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rs.Err())
	require.NoError(t, rs.Close())
	require.Contains(t, tables, "transactions")
	var b, r strings.Builder
	for _, tb := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+tb+`"`)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			fmt.Fprintf(&b, "%s:", tb)
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					r.Write(bs)
					r.WriteByte('\n')
					v = hex.EncodeToString(bs)
				}
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			b.WriteString("\n")
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return b.String(), r.String()
}

// TestSecretHygieneExamples builds every example and runs it (the
// quickstart with -v, at debug level), then searches its output for the
// secrets it used. The examples start their own sandbox, so per-run values
// are caught by their shape: token PANs (489537…) and fidoBlobs (JWTs).
func TestSecretHygieneExamples(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds four programs")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the examples")
	}
	dir := t.TempDir()
	build := exec.Command(goBin, "build", "-o", dir+string(os.PathSeparator), "./examples/quickstart", "./examples/enroll", "./examples/purchase", "./examples/resume")
	build.Dir = filepath.Join("..", "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	sec := newSecrets()
	for _, v := range []string{sandbox.CardHappy, sandbox.CardInsufficientFunds, sandbox.GoldenOTP} {
		sec.Add("PAN or OTP", v)
	}
	tokenPAN := regexp.MustCompile(`489537\d{10}`)
	jwt := regexp.MustCompile(`eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}`)
	// ok says whether the run is meant to succeed: the declines and the
	// wrong OTP end with an error (exit status 1), and their error paths
	// are searched too.
	runs := []struct {
		prog string
		args []string
		ok   bool
	}{
		{"quickstart", []string{"-v"}, true},
		{"quickstart", []string{"-v", "-card", sandbox.CardInsufficientFunds, "-amount", "10.00"}, false},
		{"enroll", nil, true},
		{"enroll", []string{"-otp", "000000"}, false},
		{"purchase", nil, true},
		{"purchase", []string{"-card", sandbox.CardInsufficientFunds}, false},
		{"resume", nil, true},
		{"resume", []string{"-at", string(agenttest.AfterCredentialsIssued)}, true},
	}
	for _, r := range runs {
		name := r.prog + " " + strings.Join(r.args, " ")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, filepath.Join(dir, r.prog), r.args...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		cancel()
		require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, name)
		text := string(out)
		t.Logf("%s: exit %v, %d bytes of output", name, err, len(text))
		if r.ok {
			assert.NoError(t, err, "%s:\n%s", name, text)
		} else {
			assert.Error(t, err, name)
		}
		// The quickstart tells the reader the sandbox's OTP in one known
		// line of instructions; that line is not a leak.
		text = strings.ReplaceAll(text, "(the sandbox's is 456789)", "(the sandbox's is ******)")
		sec.Check(t, name, text, testutil.Text)
		assert.NotRegexp(t, tokenPAN, text, "%s shows a token PAN", name)
		assert.NotRegexp(t, jwt, text, "%s shows a fidoBlob or another JWT", name)
		assert.NotContains(t, text, "panic:", name)
	}
}

// cleanEnv is the environment without VISA_* (so the examples start their
// own sandbox).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VISA_") {
			env = append(env, kv)
		}
	}
	return env
}
