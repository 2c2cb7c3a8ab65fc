package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
)

// TestRateTool: POST /v1/tools/{name}/ratings with an API key scoped to
// fn__echo: a rating of a tool the key may see is stored for the key's
// client (a new one replaces it) and answered with the ratings and the
// tool's health; a hidden tool is 404 exactly like a missing one; a bad
// rating or body is 400. GET /v1/tools shows each tool's health.
func TestRateTool(t *testing.T) {
	o, _, _ := newServer(t, nil)
	hs := httptest.NewServer(server.New(o, server.Options{RequestsPerMinute: 100000, MaxConcurrentPerClient: 100, APIKeys: []config.APIKey{
		{Name: "echoer", Hash: server.HashKey("echo-key"), Tools: []string{"fn__echo"}},
	}}))
	defer hs.Close()
	post := func(tool, body string) (int, string) {
		req, _ := http.NewRequest("POST", hs.URL+"/v1/tools/"+tool+"/ratings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer echo-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		tool, body string
		status     int
		want       string
	}{
		{"fn__echo", `{"rating":4,"comment":"fine"}`, 200, `"ratings":{"count":1,"mean":4}`},
		{"fn__echo", `{"rating":2}`, 200, `"ratings":{"count":1,"mean":2}`},
		{"fn__fail", `{"rating":5}`, 404, `"code":"unknown_tool"`},
		{"fn__nope", `{"rating":5}`, 404, `"code":"unknown_tool"`},
		{"fn__echo", `{"rating":0}`, 400, `rating: 0: must be an integer from 1 to 5`},
		{"fn__echo", `{"comment":"no rating"}`, 400, `rating: is required`},
		{"fn__echo", `{"rating":3,"stars":5}`, 400, `stars`},
		{"fn__echo", `{"rating":"five"}`, 400, `rating`},
	}
	for _, c := range cases {
		status, body := post(c.tool, c.body)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s; want %d with %s", c.tool, c.body, status, body, c.status, c.want)
		}
	}
	status, body := post("fn__echo", `{"rating":5}`)
	if status != 200 || !strings.Contains(body, `"health":{"score":1,`) {
		t.Errorf("health in the rating's answer: %d %s", status, body)
	}
	req, _ := http.NewRequest("GET", hs.URL+"/v1/tools", nil)
	req.Header.Set("Authorization", "Bearer echo-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"health":{"score":1,"success":1,"latency":1,"rating":1,"calls":0,"failures":0,"mean_latency_ms":0,"ratings":1,"rating_mean":5}`) {
		t.Errorf("GET /v1/tools: %s", b)
	}
}
