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
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/vts"
)

// secrets is the set of values that must never appear anywhere.
type secrets struct {
	mu sync.Mutex
	// long values are searched as substrings.
	long map[string]string
	// short values (the CVV2 and the OTPs this suite types) are searched
	// as whole words (a six-digit code inside a nine-digit timestamp is
	// not a leak); three-digit ones in JSON logs only as quoted values.
	short map[string]string
	// dynamic values (random three digits) could match any number in the
	// text by chance: they are searched next to a name that gives them
	// away (cvv2, dynamicDataValue), in any case and quoting.
	dynamic map[string]string
}

func newSecrets() *secrets {
	s := &secrets{long: map[string]string{}, short: map[string]string{}, dynamic: map[string]string{}}
	for name, v := range map[string]string{
		"VIC api key": sandbox.VICAPIKey, "VTS api key": sandbox.VTSAPIKey, "enc api key": sandbox.EncAPIKey,
		"VIC shared secret": sandbox.VICSharedSecret, "VTS shared secret": sandbox.VTSSharedSecret,
		"enc shared secret": sandbox.EncSharedSecret, "hash secret": sandbox.HashSecret,
	} {
		s.long[v] = name
	}
	s.short[testCVV2] = "CVV2"
	return s
}

func (s *secrets) add(name, v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case name == "dynamic value":
		s.dynamic[v] = name
	case len(v) <= 8:
		s.short[v] = name
	default:
		s.long[v] = name
	}
}

// checkMode says how short (three-digit) secrets are searched.
type checkMode int

const (
	// textMode: as whole words.
	textMode checkMode = iota
	// jsonMode: as quoted JSON values.
	jsonMode
	// longOnly: not at all, for text that holds binary data or byte
	// slices printed as decimal numbers, where any three digits occur.
	longOnly
)

// check reports the secrets found in text, once per kind of secret.
func (s *secrets) check(t *testing.T, where, text string, mode checkMode) {
	t.Helper()
	for name, ex := range s.find(text, mode) {
		t.Errorf("%s shows the %s: …%s…", where, name, ex)
	}
}

// find returns, per kind of secret found in text, an excerpt.
func (s *secrets) find(text string, mode checkMode) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]string{}
	for v, name := range s.long {
		if i := strings.Index(text, v); i >= 0 && found[name] == "" {
			found[name] = excerpt(text, i, len(v))
		}
	}
	for v, name := range s.short {
		if found[name] != "" || mode == longOnly {
			continue
		}
		if mode == jsonMode {
			// Inside JSON strings only (bare numbers are durations and
			// counters); a three-digit value only as a whole string.
			word := regexp.MustCompile(`\b` + v + `\b`)
			for _, str := range jsonStrings(text) {
				if str == v || (len(v) >= 6 && word.MatchString(str)) {
					found[name] = excerpt(str, 0, len(str))
					break
				}
			}
			continue
		}
		// A whole word that is not the fraction of a decimal number
		// ("311.123µs" is a duration, not the CVV2 123).
		if loc := regexp.MustCompile(`(?:^|[^0-9A-Za-z_.])` + v + `(?:$|[^0-9A-Za-z_])`).FindStringIndex(text); loc != nil {
			found[name] = excerpt(text, loc[0], loc[1]-loc[0])
		}
	}
	for v, name := range s.dynamic {
		if found[name] != "" {
			continue
		}
		re := regexp.MustCompile(`(?i)(cvv2?|dynamic_?data_?value|dynamicValue)\W{0,6}` + v + `\b`)
		if loc := re.FindStringIndex(text); loc != nil {
			found[name] = excerpt(text, loc[0], loc[1]-loc[0])
		}
	}
	return found
}

// jsonStrings returns every string (keys and values) of the JSON
// documents in text, one document per line; lines that are not JSON are
// returned whole.
func jsonStrings(text string) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				out = append(out, k)
				walk(e)
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			out = append(out, line)
			continue
		}
		walk(v)
	}
	return out
}

func excerpt(text string, i, n int) string {
	return text[max(0, i-40):min(len(text), i+n+40)]
}

// TestSecretScanner: the scanner finds each form of leak and ignores the
// numbers that only look like a secret.
func TestSecretScanner(t *testing.T) {
	t.Parallel()
	s := newSecrets()
	s.add("PAN", sandbox.CardHappy)
	s.add("OTP", "456789")
	s.add("dynamic value", "847")
	for _, tc := range []struct {
		text string
		mode checkMode
		want string
	}{
		{"card " + sandbox.CardHappy, textMode, "PAN"},
		{`{"msg":"wrong code 456789 typed"}`, jsonMode, "OTP"},
		{"otp=456789 refused", textMode, "OTP"},
		{`{"cvv2":"123"}`, jsonMode, "CVV2"},
		{"cvv 123 refused", textMode, "CVV2"},
		{`{"dynamicDataValue":"847"}`, jsonMode, "dynamic value"},
		{"{CVV2:847 Amount:1.00}", textMode, "dynamic value"},
		{"apikey=" + sandbox.VTSAPIKey, longOnly, "VTS api key"},
		{`{"duration":456789,"status":123,"n":847}`, jsonMode, ""},
		{"time.Date(2026, 11, 25, 9, 30, 57, 456789000, time.UTC) 203.0.113.7 847", textMode, ""},
		{"[45 123 200 847]", longOnly, ""},
	} {
		got := s.find(tc.text, tc.mode)
		if tc.want == "" {
			assert.Empty(t, got, tc.text)
			continue
		}
		assert.Contains(t, got, tc.want, tc.text)
	}
}

// capturingFrame wraps the Auth iFrame to learn every secureToken and
// fidoBlob of the journey.
type capturingFrame struct {
	authframe.Frame
	s *secrets
}

func (f capturingFrame) Open(ctx context.Context, req authframe.OpenRequest) (*authframe.Session, error) {
	s, err := f.Frame.Open(ctx, req)
	if err == nil && s != nil {
		f.s.add("secureToken", s.SessionContext.SecureToken.Reveal())
	}
	return s, err
}

func (f capturingFrame) Authenticate(ctx context.Context, s *authframe.Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	a, err := f.Frame.Authenticate(ctx, s, ac)
	if err == nil {
		f.s.add("fidoBlob", a.FidoBlob.Reveal())
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
	sec.add("MLE client private key", strings.TrimSpace(strings.Split(cfg.VIC.MLEClientPrivateKeyPEM.Reveal(), "\n")[1]))

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
	m, err := agent.NewSandboxMerchant(sbx.MerchantURL(), cfg)
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
		sec.add("PAN", pan)
		for _, o := range otps {
			sec.add("OTP", o)
		}
		ch := &agent.ScriptedCardholder{Method: vts.MethodOTPSMS, OTPs: otps}
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
			sec.add("token PAN", tp)
		}
		return res, err
	}
	buy := func(a *agent.Agent, n int, c store.Card, amount string) *agent.Receipt {
		req := purchaseReq(user(n), c, device(n), amount)
		rec, err := a.Purchase(ctx, req)
		keepErr(err)
		formatted = append(formatted, req, rec)
		if rec != nil {
			sec.add("dynamic value", rec.Credential.DynamicDataValue.Reveal())
			sec.add("token PAN", rec.Credential.PaymentToken.Reveal())
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
		agent.WithInterrupt(func(b agent.Boundary) bool { return b == agent.AfterCharge }))
	require.NoError(t, err)
	buy(crashing, 5, res.Card, "12.00")
	rep, err := a.Resume(ctx)
	keepErr(err)
	formatted = append(formatted, rep)
	// The user cancels the passkey ceremony.
	cancelDirect, err := authframe.NewDirect(cfg, authframe.WithDirectHeader("X-Sandbox-Auth-Outcome", "CANCELLED"))
	require.NoError(t, err)
	cancelling, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithFrame(capturingFrame{Frame: cancelDirect, s: sec}))
	require.NoError(t, err)
	buy(cancelling, 5, res.Card, "13.00")
	formatted = append(formatted, cfg, sbx.Config())

	require.NotEmpty(t, sec.long, "secrets were captured")
	t.Logf("%s: %d long and %d short secrets, %d log bytes, %d sandbox log bytes, %d error strings",
		kind, len(sec.long), len(sec.short), len(logs.String()), len(sbxLogs.String()), len(errs))

	sec.check(t, "the SDK's debug log", logs.String(), jsonMode)
	sec.check(t, "the sandbox's debug log", sbxLogs.String(), jsonMode)
	sec.check(t, "an error string", strings.Join(errs, "\n"), textMode)
	for i, v := range formatted {
		where := fmt.Sprintf("formatted value %d (%T)", i, v)
		// A Config holds PEM bytes, which %v prints as decimal numbers:
		// only the long secrets are meaningful there.
		text, js := textMode, jsonMode
		if _, ok := v.(visa.Config); ok {
			text, js = longOnly, longOnly
		}
		sec.check(t, where, fmt.Sprintf("%v\n%+v\n%#v", v, v, v), text)
		if b, err := json.Marshal(v); err == nil {
			sec.check(t, where+" as JSON", string(b), js)
		}
		var lb syncBuffer
		slog.New(slog.NewJSONHandler(&lb, nil)).Info("value", "v", v)
		sec.check(t, where+" logged", lb.String(), js)
		sec.check(t, where+" as a panic", panicMessage(v), text)
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
	sec.check(t, "a stored record", rows.String(), textMode)
	sec.check(t, "a sealed passkey", blobs.String(), longOnly)
	if dbPath != "" {
		text, raw := dumpSQLite(t, dbPath)
		sec.check(t, "a SQLite row", text, textMode)
		sec.check(t, "a SQLite blob", raw, longOnly)
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
		sec.add("PAN or OTP", v)
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
		{"resume", []string{"-at", string(agent.AfterCredentialsIssued)}, true},
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
		sec.check(t, name, text, textMode)
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
