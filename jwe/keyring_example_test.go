package jwe_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/vicgo/visa/jwe"
)

// A client with two live MLE key ids: answers are decrypted with the key
// their kid names; an answer for a key id that is not live is ErrKeyID.
func ExampleMLEKeyring() {
	server, _ := rsa.GenerateKey(rand.Reader, 2048) // Visa's server key
	oldKey, _ := rsa.GenerateKey(rand.Reader, 2048) // the client's key of "key-1"
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048) // the client's key of "key-2"
	enc, _ := jwe.NewMLEEncrypter(&server.PublicKey, "key-2", jwe.EncA128GCM)
	oldDec, _ := jwe.NewMLEDecrypter(oldKey)
	newDec, _ := jwe.NewMLEDecrypter(newKey)
	ring, err := jwe.NewMLEKeyring(enc, map[string]*jwe.MLEDecrypter{"key-1": oldDec, "key-2": newDec})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ring.KeyIDs())

	// Visa answers under the older key id, still live.
	visa, _ := jwe.NewMLEEncrypter(&oldKey.PublicKey, "key-1", jwe.EncA128GCM)
	answer, _ := visa.Encrypt([]byte(`{"status":"ACTIVE"}`), time.Now())
	plain, hdr, err := ring.Decrypt(answer)
	fmt.Println(string(plain), hdr.KeyID, err)

	stray, _ := jwe.NewMLEEncrypter(&oldKey.PublicKey, "key-0", jwe.EncA128GCM)
	answer, _ = stray.Encrypt([]byte(`{}`), time.Now())
	_, _, err = ring.Decrypt(answer)
	fmt.Println(errors.Is(err, jwe.ErrKeyID))
	// Output:
	// [key-2 key-1]
	// {"status":"ACTIVE"} key-1 <nil>
	// true
}
