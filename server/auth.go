package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
)

// Client is the authenticated caller of a request.
type Client struct {
	// Name is the API key's name, or "addr:<ip>" without authentication.
	Name string
	// RequestsPerMinute is the client's rate budget.
	RequestsPerMinute int
	// Scope limits the tools the client may use.
	Scope weft.Scope
}

// keyring resolves bearer tokens to clients by the SHA-256 of the token;
// tokens themselves are never stored.
type keyring struct {
	byHash map[string]config.APIKey
	rpm    int
}

func newKeyring(keys []config.APIKey, defaultRPM int) *keyring {
	k := &keyring{byHash: map[string]config.APIKey{}, rpm: defaultRPM}
	for _, key := range keys {
		k.byHash[strings.TrimPrefix(key.Hash, "sha256:")] = key
	}
	return k
}

func (k *keyring) enabled() bool { return len(k.byHash) > 0 }

// HashKey returns the configuration form of an API key: "sha256:<hex>".
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// authenticate returns the client for r, or ok=false with a reason.
func (k *keyring) authenticate(r *http.Request) (Client, string, bool) {
	if !k.enabled() {
		return Client{Name: "addr:" + clientIP(r), RequestsPerMinute: k.rpm}, "", true
	}
	auth := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(auth, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Client{}, "missing bearer token: send Authorization: Bearer <api key>", false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	key, ok := k.byHash[hex.EncodeToString(sum[:])]
	if !ok {
		return Client{}, "invalid API key", false
	}
	rpm := key.RequestsPerMinute
	if rpm == 0 {
		rpm = k.rpm
	}
	return Client{Name: key.Name, RequestsPerMinute: rpm, Scope: weft.Scope{Servers: key.Servers, Tools: key.Tools}}, "", true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
