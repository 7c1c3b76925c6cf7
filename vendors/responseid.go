package vendors

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// ResponseIDs makes and opens the ids of Responses API answers. An id names
// the vendor that produced the response and that vendor's own id for it
// (which a native vendor needs to find the response again), and is signed
// with an HMAC, so that a client cannot forge one to steer a request to a
// vendor of its choosing (previous_response_id pins a request to the vendor
// that produced it).
//
// An id is "resp_" and the URL-safe base64 of: the MAC (16 bytes of
// HMAC-SHA256 over the rest), the vendor id, a zero byte, the vendor's id.
// The vendor ids can be read by anyone who has the id; only the key can make
// one.
type ResponseIDs struct{ key []byte }

// responseIDMAC is the bytes of the MAC an id carries.
const responseIDMAC = 16

// NewResponseIDs returns the ids signed with key; an empty key is a random
// one, good for this process only (ids it made do not open in another
// process, or after a restart).
func NewResponseIDs(key []byte) *ResponseIDs {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	}
	return &ResponseIDs{key: append([]byte(nil), key...)}
}

// Sign returns the id of the response that vendor produced under its own id
// inner.
func (r *ResponseIDs) Sign(vendor, inner string) string {
	payload := make([]byte, responseIDMAC, responseIDMAC+len(vendor)+1+len(inner))
	payload = append(append(append(payload, vendor...), 0), inner...)
	copy(payload, r.mac(payload[responseIDMAC:]))
	return "resp_" + base64.RawURLEncoding.EncodeToString(payload)
}

// Open returns the vendor and the vendor's own id of an id Sign made; ok is
// false for anything else (an id of another key, altered, or not the
// router's at all).
func (r *ResponseIDs) Open(id string) (vendor, inner string, ok bool) {
	enc, found := strings.CutPrefix(id, "resp_")
	if !found || len(enc) > 4096 {
		return "", "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(payload) <= responseIDMAC {
		return "", "", false
	}
	rest := payload[responseIDMAC:]
	if !hmac.Equal(payload[:responseIDMAC], r.mac(rest)) {
		return "", "", false
	}
	v, in, found := bytes.Cut(rest, []byte{0})
	if !found || len(v) == 0 {
		return "", "", false
	}
	return string(v), string(in), true
}

func (r *ResponseIDs) mac(b []byte) []byte {
	m := hmac.New(sha256.New, r.key)
	m.Write(b)
	return m.Sum(nil)[:responseIDMAC]
}

// newItemIDs returns a random base for the ids a translation makes up (a
// bridged response's, its items').
func newItemIDs() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
