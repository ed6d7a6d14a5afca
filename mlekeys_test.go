package visa_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

func TestValidateMLEKeys(t *testing.T) {
	t.Parallel()
	p := pems()
	older := func(kid string) visa.MLEKey {
		return visa.MLEKey{KeyID: kid, ClientPrivateKeyPEM: visa.NewSecret(string(p.otherRSAPKCS1))}
	}
	c := fullConfig()
	c.VIC.MLEKeys = []visa.MLEKey{older("sbx-mle-0"), {KeyID: "sbx-mle-00", ServerCertPEM: p.rsaPKIX, ClientPrivateKeyPEM: visa.NewSecret(string(p.rsaPKCS8))}}
	require.NoError(t, c.ValidateFor(visa.ProductVIC), "two older keys with the current one: three live key ids")
	assert.Equal(t, visa.MLEKey{KeyID: "sbx-mle-1", ServerCertPEM: c.VIC.MLEServerCertPEM, ClientPrivateKeyPEM: c.VIC.MLEClientPrivateKeyPEM}, c.VIC.CurrentMLEKey())

	for name, tc := range map[string]struct {
		keys  []visa.MLEKey
		field string
	}{
		"three older keys":      {[]visa.MLEKey{older("a"), older("b"), older("c")}, "VIC.MLEKeys"},
		"no key id":             {[]visa.MLEKey{older("")}, "VIC.MLEKeys[0].KeyID"},
		"the current key id":    {[]visa.MLEKey{older("sbx-mle-1")}, "VIC.MLEKeys[0].KeyID"},
		"a repeated key id":     {[]visa.MLEKey{older("a"), older("a")}, "VIC.MLEKeys[1].KeyID"},
		"a key id with a space": {[]visa.MLEKey{older("a b")}, "VIC.MLEKeys[0].KeyID"},
		"no private key":        {[]visa.MLEKey{{KeyID: "a"}}, "VIC.MLEKeys[0].ClientPrivateKeyPEM"},
		"an EC private key":     {[]visa.MLEKey{{KeyID: "a", ClientPrivateKeyPEM: visa.NewSecret(string(p.ecPKCS8))}}, "VIC.MLEKeys[0].ClientPrivateKeyPEM"},
		"an EC certificate": {[]visa.MLEKey{{KeyID: "a", ServerCertPEM: p.ecCert, ClientPrivateKeyPEM: visa.NewSecret(string(p.rsaPKCS1))}},
			"VIC.MLEKeys[0].ServerCertPEM"},
	} {
		c := fullConfig()
		c.VIC.MLEKeys = tc.keys
		err := c.ValidateFor(visa.ProductVIC)
		require.ErrorIs(t, err, visa.ErrInvalidInput, name)
		assert.Equal(t, []string{tc.field}, fields(err), name)
		s := testutil.NewSecrets()
		s.Add("private key", string(p.rsaPKCS1)[40:100])
		s.Add("other private key", string(p.otherRSAPKCS1)[40:100])
		s.Check(t, name, err.Error(), testutil.LongOnly)
	}
}

func TestMLEKeyPrintsNoKey(t *testing.T) {
	t.Parallel()
	p := pems()
	k := visa.MLEKey{KeyID: "sbx-mle-1", ServerCertPEM: p.rsaCert, ClientPrivateKeyPEM: visa.NewSecret(string(p.rsaPKCS1))}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.Equal(t, `visa.MLEKey{KeyID: "sbx-mle-1"}`, fmt.Sprintf(verb, k), verb)
	}
}
