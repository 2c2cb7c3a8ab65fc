package server

import (
	"net"
	"testing"
	"time"

	"github.com/weft-dev/weft"
)

// TestHostProblem (issue 9 #20): DNS-rebinding protection compares Host with
// what the operator configured (server.allowed_hosts), never with the
// request's own Host — under --insecure (no keys, non-loopback) too.
func TestHostProblem(t *testing.T) {
	loop, public := net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.5")
	allowed := []string{"weft.internal.example"}
	cases := []struct {
		name   string
		host   string
		local  net.IP
		keyed  bool
		allow  []string
		wantOK bool
	}{
		{"loopback: localhost", "localhost:8080", loop, false, nil, true},
		{"loopback: [::1]", "[::1]:8080", loop, false, nil, true},
		{"loopback: rebinding name", "evil.example:8080", loop, false, nil, false},
		{"loopback: rebinding name with keys", "evil.example", loop, true, nil, false},
		{"loopback: allowed name", "WEFT.internal.example.:8080", loop, false, allowed, true},
		{"insecure: attacker's name", "evil.example:8080", public, false, nil, false},
		{"insecure: IP address", "10.0.0.5:8080", public, false, nil, true},
		{"insecure: allowed name", "weft.internal.example", public, false, allowed, true},
		{"insecure: other name with a list", "evil.example", public, false, allowed, false},
		{"keys, no list: any name", "weft.example.com", public, true, nil, true},
		{"keys and a list: the list holds", "evil.example", public, true, allowed, false},
		{"unknown local address, no keys", "evil.example", nil, false, nil, false},
	}
	for _, c := range cases {
		msg := hostProblem(c.host, c.local, c.keyed, c.allow)
		if (msg == "") != c.wantOK {
			t.Errorf("%s: hostProblem(%q) = %q, want ok=%v", c.name, c.host, msg, c.wantOK)
		}
	}
}

// TestAddressGroup (issue 9 #20): per-address budgets cannot be multiplied
// by rotating loopback addresses or the addresses of one IPv6 /64.
func TestAddressGroup(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:1000":                 "loopback",
		"127.8.9.10:1000":                "loopback",
		"[::1]:1000":                     "loopback",
		"203.0.113.7:1000":               "203.0.113.7",
		"[::ffff:203.0.113.7]:1000":      "203.0.113.7",
		"[2001:db8:1:2:aaaa::1]:1000":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:1:2:3]:1000": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:1000":         "2001:db8:1:3::/64",
		"not an address":                 "not an address",
	}
	for in, want := range cases {
		if got := addressGroup(in); got != want {
			t.Errorf("addressGroup(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEveryLog(t *testing.T) {
	e := everyLog{interval: 10 * time.Second}
	now := time.Unix(1000, 0)
	if n, ok := e.take(now); !ok || n != 1 {
		t.Fatalf("first: %d %v", n, ok)
	}
	for range 5 {
		if _, ok := e.take(now.Add(time.Second)); ok {
			t.Fatal("logged again within the interval")
		}
	}
	if n, ok := e.take(now.Add(11 * time.Second)); !ok || n != 6 {
		t.Fatalf("after the interval: %d %v, want 6 failures counted", n, ok)
	}
}

func TestJSONProblemPositions(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a": 1e308, "b": [1.5, -0, 1e-999]}`, ""},
		{"{\"a\":\n 1E+309}", "number 1E+309 out of range (beyond ±1.7976931348623157e+308) at line 2, column 2 (byte 7)"},
		{"[\"ok\", \"\xff\"]", "body is not valid UTF-8: byte 0xff at line 1, column 9 (byte 8)"},
		{`{"k": "1e999"}`, ""}, // in a string: not a number
	}
	for _, c := range cases {
		if _, got := jsonProblem([]byte(c.in), 64, 1<<20); got != c.want {
			t.Errorf("jsonProblem(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTerseReason: what /readyz tells an anonymous caller never names an
// upstream.
func TestTerseReason(t *testing.T) {
	cases := map[string]string{
		"starting: discovering upstreams":                      "starting",
		"shutting down":                                        "shutting down",
		"no upstream is usable: memory, secrets":               "no usable upstream; details need an API key",
		"catalog is empty: no upstream has reported tools yet": "no usable upstream; details need an API key",
	}
	for reason, want := range cases {
		if got := terseReason(weft.Readiness{Reason: reason}); got != want {
			t.Errorf("terseReason(%q) = %q, want %q", reason, got, want)
		}
	}
	if got := terseReason(weft.Readiness{Ready: true}); got != "" {
		t.Errorf("ready: %q", got)
	}
}
