package fido_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var goldenTime = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) // 1795599000

func testAssurance(t testing.TB) fido.Assurance {
	return fido.Assurance{FidoBlob: mustBlob(t, secretBlob), Identifier: "ID-7QmZ1x", RPID: "localhost"}
}

func TestAssuranceDataWireJSONGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    fido.Ceremony
		file string
	}{
		{fido.Register, "assurance_register.golden.json"},
		{fido.Authenticate, "assurance_authenticate.golden.json"},
	} {
		t.Run(string(tc.c), func(t *testing.T) {
			t.Parallel()
			d, err := fido.NewAssuranceData(testAssurance(t), tc.c, "dfp-3f9c2a", goldenTime)
			require.NoError(t, err)
			got, err := d.WireJSON()
			require.NoError(t, err)
			path := filepath.Join("testdata", tc.file)
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got)+"\n")

			// The wire form decodes back into the same AssuranceData (the sandbox's view).
			var back fido.AssuranceData
			require.NoError(t, json.Unmarshal(got, &back))
			b, c := back.Code()
			assert.Equal(t, tc.c, c)
			assert.True(t, b.Equal(testAssurance(t).FidoBlob))
			assert.Equal(t, d.MethodResults.DfpSessionID, back.MethodResults.DfpSessionID)
			assert.Equal(t, d.VerificationTimestamp, back.VerificationTimestamp)
		})
	}
}

func TestNewAssuranceDataFields(t *testing.T) {
	t.Parallel()
	d, err := fido.NewAssuranceData(testAssurance(t), fido.Register, "ALLOW_ME", goldenTime)
	require.NoError(t, err)
	assert.Equal(t, "DEVICE", d.VerificationType)
	assert.Equal(t, "10", d.VerificationEntity)
	assert.Equal(t, []string{"01", "02"}, d.VerificationEvents)
	assert.Equal(t, "23", d.VerificationMethod)
	assert.Equal(t, "01", d.VerificationResults)
	assert.Equal(t, "1795599000", d.VerificationTimestamp)
	assert.Equal(t, "ALLOW_ME", d.MethodResults.DfpSessionID)
	assert.Equal(t, "ID-7QmZ1x", d.MethodResults.Identifier)
	require.NotNil(t, d.MethodResults.FidoAttestationData)
	assert.Nil(t, d.MethodResults.FidoAssertionData)

	d2, err := fido.NewAssuranceData(testAssurance(t), fido.Authenticate, "ALLOW_ME", goldenTime)
	require.NoError(t, err)
	assert.Nil(t, d2.MethodResults.FidoAttestationData)
	require.NotNil(t, d2.MethodResults.FidoAssertionData)

	// Mutating one element's events must not affect another's.
	d.VerificationEvents[0] = "99"
	assert.Equal(t, []string{"01", "02"}, d2.VerificationEvents)
	assert.Equal(t, []string{"01", "02"}, fido.VerificationEvents())
}

func TestNewAssuranceDataErrors(t *testing.T) {
	t.Parallel()
	good := testAssurance(t)
	tests := []struct {
		name string
		a    fido.Assurance
		c    fido.Ceremony
		dfp  string
		at   time.Time
		err  error
	}{
		{"empty blob", fido.Assurance{Identifier: "ID-1"}, fido.Register, "dfp", goldenTime, fido.ErrBlobEmpty},
		{"empty identifier", fido.Assurance{FidoBlob: good.FidoBlob}, fido.Register, "dfp", goldenTime, fido.ErrIdentifierEmpty},
		{"unknown ceremony", good, fido.Ceremony("register"), "dfp", goldenTime, fido.ErrUnknownCeremony},
		{"empty ceremony", good, "", "dfp", goldenTime, fido.ErrUnknownCeremony},
		{"empty dfp", good, fido.Register, "", goldenTime, fido.ErrDFPSessionIDEmpty},
		{"zero time", good, fido.Register, "dfp", time.Time{}, fido.ErrInvalidTimestamp},
		{"before epoch", good, fido.Register, "dfp", time.Unix(-5, 0), fido.ErrInvalidTimestamp},
		{"13 digits", good, fido.Register, "dfp", time.Unix(1_000_000_000_000, 0), fido.ErrInvalidTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := fido.NewAssuranceData(tc.a, tc.c, tc.dfp, tc.at)
			require.ErrorIs(t, err, tc.err)
			assert.Zero(t, d.VerificationType)
			assertNoLeak(t, err.Error(), secretBlob)
		})
	}
}

func TestAssuranceDataNeverPrintsBlob(t *testing.T) {
	t.Parallel()
	d, err := fido.NewAssuranceData(testAssurance(t), fido.Authenticate, "dfp", goldenTime)
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		assertNoLeak(t, fmt.Sprintf(verb, d), secretBlob)
		assertNoLeak(t, fmt.Sprintf(verb, &d), secretBlob)
	}
	js, err := json.Marshal(d)
	require.NoError(t, err)
	assertNoLeak(t, string(js), secretBlob)
	assert.Contains(t, string(js), `"fidoAssertionData":{"code":"[REDACTED fidoBlob len=`)

	wire, err := d.WireJSON()
	require.NoError(t, err)
	assert.Contains(t, string(wire), `"fidoAssertionData":{"code":"`+secretBlob+`"}`)
}

func TestAssuranceDataCodeAndWireJSONErrors(t *testing.T) {
	t.Parallel()
	var empty fido.AssuranceData
	b, c := empty.Code()
	assert.True(t, b.IsZero())
	assert.Empty(t, c)
	_, err := empty.WireJSON()
	require.ErrorIs(t, err, fido.ErrBlobEmpty)

	both := fido.AssuranceData{MethodResults: fido.MethodResults{
		FidoAttestationData: &fido.FidoData{Code: mustBlob(t, "a")},
		FidoAssertionData:   &fido.FidoData{Code: mustBlob(t, "b")},
	}}
	b, c = both.Code()
	assert.True(t, b.IsZero())
	assert.Empty(t, c)
	_, err = both.WireJSON()
	require.ErrorIs(t, err, fido.ErrBlobEmpty)
}

func TestParseCeremony(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want fido.Ceremony
		err  error
	}{
		{"REGISTER", fido.Register, nil},
		{"AUTHENTICATE", fido.Authenticate, nil},
		{"register", "", fido.ErrUnknownCeremony},
		{"", "", fido.ErrUnknownCeremony},
		{"DELETE", "", fido.ErrUnknownCeremony},
	} {
		c, err := fido.ParseCeremony(tc.in)
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, c)
		assert.Equal(t, tc.in, c.String())
	}
}

// WireValue encodes, with HTML escaping off as the SDK's transport writes
// bodies, to WireJSON's bytes inside a larger body; printed, it shows no
// blob; without a blob it fails as WireJSON does.
func TestAssuranceDataWireValue(t *testing.T) {
	t.Parallel()
	for _, c := range []fido.Ceremony{fido.Register, fido.Authenticate} {
		d, err := fido.NewAssuranceData(testAssurance(t), c, "dfp-<&>", goldenTime)
		require.NoError(t, err)
		want, err := d.WireJSON()
		require.NoError(t, err)
		w, err := d.WireValue()
		require.NoError(t, err)
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(struct {
			A []any `json:"assuranceData"`
		}{[]any{w}}))
		assert.Equal(t, `{"assuranceData":[`+string(want)+"]}\n", buf.String())
		assert.Contains(t, string(want), `"dfpSessionId":"dfp-<&>"`)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			assertNoLeak(t, fmt.Sprintf(verb, w), secretBlob)
			assertNoLeak(t, fmt.Sprintf(verb, []any{w}), secretBlob)
		}
		var logs strings.Builder
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("sending", "assurance", w)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("sending", "assurance", w)
		assertNoLeak(t, logs.String(), secretBlob)
		assert.Contains(t, logs.String(), "blob not printed")
	}
	_, err := fido.AssuranceData{}.WireValue()
	require.ErrorIs(t, err, fido.ErrBlobEmpty)
}
