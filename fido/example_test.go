package fido_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vicgo/visa/fido"
)

func ExampleBlob() {
	b, err := fido.NewBlob("eyJhbGciOiJSUzI1NiJ9.eyJ0eXAiOiJmaWRvLWFzc2VydGlvbiJ9.c2ln")
	if err != nil {
		panic(err)
	}
	fmt.Println(b)
	fmt.Printf("%q %#v\n", b, b)
	js, _ := json.Marshal(struct{ Blob fido.Blob }{b})
	fmt.Println(string(js))

	_, err = fido.NewBlob("not a blob")
	fmt.Println(errors.Is(err, fido.ErrBlobCharset))
	// Output:
	// [REDACTED fidoBlob len=58]
	// "[REDACTED fidoBlob len=58]" [REDACTED fidoBlob len=58]
	// {"Blob":"[REDACTED fidoBlob len=58]"}
	// true
}

func ExampleNewAssuranceData() {
	// The assuranceData of an AUTH_COMPLETE message from the Auth iFrame.
	var a fido.Assurance
	msg := `{"fidoBlob":"eyJhbGciOiJSUzI1NiJ9.eyJ0eXAiOiJmaWRvLWFzc2VydGlvbiJ9.c2ln","rpID":"localhost","identifier":"ID-7Qm"}`
	if err := json.Unmarshal([]byte(msg), &a); err != nil {
		panic(err)
	}
	d, err := fido.NewAssuranceData(a, fido.Authenticate, "dfp-3f9c2a", time.Unix(1795599000, 0))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", d.MethodResults.FidoAssertionData)

	// Just before sending: the wire form, the only place the blob is clear.
	wire, err := d.WireJSON()
	if err != nil {
		panic(err)
	}
	fmt.Println(string(wire))
	// Output:
	// &{Code:[REDACTED fidoBlob len=58]}
	// {"verificationType":"DEVICE","verificationEntity":"10","verificationEvents":["01","02"],"verificationMethod":"23","verificationResults":"01","verificationTimestamp":"1795599000","methodResults":{"dfpSessionId":"dfp-3f9c2a","identifier":"ID-7Qm","fidoAssertionData":{"code":"eyJhbGciOiJSUzI1NiJ9.eyJ0eXAiOiJmaWRvLWFzc2VydGlvbiJ9.c2ln"}}}
}

func ExampleAssuranceData_WireValue() {
	blob, err := fido.NewBlob("eyJhbGciOiJSUzI1NiJ9.eyJ0eXAiOiJmaWRvLWFzc2VydGlvbiJ9.c2ln")
	if err != nil {
		panic(err)
	}
	d, err := fido.NewAssuranceData(fido.Assurance{FidoBlob: blob, Identifier: "ID-7Qm"}, fido.Authenticate, "dfp-3f9c2a", time.Unix(1795599000, 0))
	if err != nil {
		panic(err)
	}
	// Inside a request body, written by the encoder in one pass (HTML
	// escaping off, as the SDK's transport writes bodies).
	w, err := d.WireValue()
	if err != nil {
		panic(err)
	}
	body := struct {
		AssuranceData []any `json:"assuranceData"`
	}{[]any{w}}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		panic(err)
	}
	fmt.Print(buf.String())
	fmt.Println(w) // printed, it hides the blob
	// Output:
	// {"assuranceData":[{"verificationType":"DEVICE","verificationEntity":"10","verificationEvents":["01","02"],"verificationMethod":"23","verificationResults":"01","verificationTimestamp":"1795599000","methodResults":{"dfpSessionId":"dfp-3f9c2a","identifier":"ID-7Qm","fidoAssertionData":{"code":"eyJhbGciOiJSUzI1NiJ9.eyJ0eXAiOiJmaWRvLWFzc2VydGlvbiJ9.c2ln"}}}]}
	// fido.AssuranceData(wire form, blob not printed)
}

func ExampleSealer() {
	// In production the keys come from a KMS or a secret store.
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	blob, _ := fido.NewBlob("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	row := fido.Binding{UserID: "user-42", TokenID: "vpt-7", DeviceID: "aZ3-_k9aZ3-_k9aZ3-_k9aZ3"}

	old, _ := fido.NewSealer("2025-q4", map[string][]byte{"2025-q4": k1})
	sealed, _ := old.Seal(blob, row)

	// Rotate: a new current key; the old one stays for opening.
	s, _ := fido.NewSealer("2026-q1", map[string][]byte{"2025-q4": k1, "2026-q1": k2})
	opened, err := s.Open(sealed, row)
	fmt.Println("opened:", err == nil, opened.Equal(blob))
	fmt.Println("needs rotation:", s.NeedsRotation(sealed))
	sealed, _ = s.Reseal(sealed, row)
	kid, _ := s.KeyID(sealed)
	fmt.Println("now under:", kid, "needs rotation:", s.NeedsRotation(sealed))

	// A sealed blob copied to another user's row, or another device's, does
	// not open.
	_, err = s.Open(sealed, fido.Binding{UserID: "user-43", TokenID: row.TokenID, DeviceID: row.DeviceID})
	fmt.Println(errors.Is(err, fido.ErrOpenFailed))
	_, err = s.Open(sealed, fido.Binding{UserID: row.UserID, TokenID: row.TokenID, DeviceID: "k9aZ3-_k9aZ3-_k9aZ3-_k9a"})
	fmt.Println(errors.Is(err, fido.ErrOpenFailed))

	// Once the old key is gone, what it sealed names an unknown key.
	retired, _ := fido.NewSealer("2026-q1", map[string][]byte{"2026-q1": k2})
	stale, _ := old.Seal(blob, row)
	_, err = retired.Open(stale, row)
	fmt.Println(errors.Is(err, fido.ErrUnknownKey))
	// Output:
	// opened: true true
	// needs rotation: true
	// now under: 2026-q1 needs rotation: false
	// true
	// true
	// true
}

func ExampleParseKeyring() {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	s, err := fido.ParseKeyring("2026-q1:" + k2 + ",2025-q4:" + k1)
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	_, err = fido.ParseKeyring("2026-q1:tooshort")
	fmt.Println(err)
	// Output:
	// fido.Sealer{current:2026-q1 keys:[2025-q4 2026-q1]}
	// fido: invalid keyring: key "2026-q1" is 6 bytes, want 32
}

func ExampleAuthenticator() {
	a, err := fido.NewAuthenticator()
	if err != nil {
		panic(err)
	}
	// The Auth iFrame on localhost:9443, embedded in a page on 127.0.0.1:8080.
	o := fido.ClientOrigin{Origin: "http://localhost:9443", TopOrigin: "http://127.0.0.1:8080", CrossOrigin: true}

	create := `{"publicKey":{"challenge":"q83vEjRWeJq83vEjRWeJqw","rp":{"id":"localhost","name":"Visa"},
		"user":{"id":"dXNlci00Mg","name":"alice","displayName":"Alice"},
		"pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`
	reg, err := a.Register([]byte(create), o)
	if err != nil {
		panic(err)
	}
	var r struct {
		Type     string `json:"type"`
		Response struct {
			PublicKeyAlgorithm int `json:"publicKeyAlgorithm"`
		} `json:"response"`
	}
	_ = json.Unmarshal(reg, &r)
	fmt.Println(r.Type, r.Response.PublicKeyAlgorithm, a.Credentials("localhost"))

	get := `{"publicKey":{"challenge":"AAECAwQFBgcICQoLDA0ODw","rpId":"localhost","userVerification":"required"}}`
	if _, err := a.Authenticate([]byte(get), o); err != nil {
		panic(err)
	}

	_, err = a.Register([]byte(create), fido.ClientOrigin{Origin: "https://evil.example"})
	fmt.Println(errors.Is(err, fido.ErrRPIDMismatch))
	// Output:
	// public-key -7 1
	// true
}
