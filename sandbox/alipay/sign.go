package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// SignContent is the string Alipay signs for a parameter set: every
// parameter but the excluded ones, empty values dropped, sorted by key,
// "k=v" with raw (not URL-encoded) values, joined by "&". Requests exclude
// only sign; notifications exclude sign and sign_type.
func SignContent(values url.Values, exclude ...string) string {
	skip := make(map[string]bool, len(exclude))
	for _, k := range exclude {
		skip[k] = true
	}
	keys := make([]string, 0, len(values))
	for k, vs := range values {
		if skip[k] || len(vs) == 0 || vs[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(values[k][0])
	}
	return b.String()
}

// SignRSA2 signs content with SHA256withRSA and encodes it in base64, as
// Alipay's sign parameter carries it.
func SignRSA2(key *rsa.PrivateKey, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyRSA2 checks a base64 SHA256withRSA signature of content.
func VerifyRSA2(pub *rsa.PublicKey, content []byte, sign string) error {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(content)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}

// corrupt spoils a signature for the bad-signature faults: still base64 of
// the right length, as a signature by a key nobody trusts would be, but it
// verifies with no key.
func corrupt(sign string) string {
	b, err := base64.StdEncoding.DecodeString(sign)
	if err != nil || len(b) == 0 {
		return "AAAA"
	}
	b[len(b)/2] ^= 0x5a
	return base64.StdEncoding.EncodeToString(b)
}
