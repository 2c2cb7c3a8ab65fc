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
	// Name is the API key's name, or without authentication "addr:" and
	// the client's address group (see addressGroup).
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
		return Client{Name: "addr:" + addressGroup(r.RemoteAddr), RequestsPerMinute: k.rpm}, "", true
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

// addressGroup is the unit per-address limits count by, for servers
// without API keys: a client can trivially pick another address of the
// same machine or network, so every loopback address is one group
// ("loopback"), an IPv6 address counts by its /64 (what one host or
// subscriber is usually given), an IPv4 address by itself. Per-address
// limits remain weak (a client with many IPv4 addresses or /64s has many
// budgets): API keys are the real control (docs/security.md).
func addressGroup(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.IsLoopback():
		return "loopback"
	case ip.To4() != nil:
		return ip.To4().String()
	default:
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
}
