package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestCodeTypingsSearchREST(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	cases := []struct {
		name, method, path, body string
		status                   int
		contains                 []string
	}{
		{"code ok", "POST", "/v1/code", `{"code":"const r = await tools.fn.echo({message: 'hi', count: 2}); console.log('got', r); return {r}"}`, 200,
			[]string{`"result":{"r":"hihi"}`, `"tool":"fn__echo"`, `"text":"got hihi"`}},
		{"code js", "POST", "/v1/code", `{"code":"return 1+1","language":"js"}`, 200, []string{`"result":2`}},
		{"code syntax error", "POST", "/v1/code", `{"code":"return (1 +"}`, 200, []string{`"kind":"syntax"`, `"line":1`}},
		{"code tool error catchable", "POST", "/v1/code", `{"code":"try { await tools.fn.fail({}) } catch (e) { return e.code }"}`, 200, []string{`"result":"tool_error"`}},
		{"code empty", "POST", "/v1/code", `{"code":"  "}`, 400, []string{"the program is empty"}},
		{"code bad language", "POST", "/v1/code", `{"code":"1","language":"py"}`, 400, []string{`"py\": must be \"ts\" or \"js\"`}},
		{"code unknown field", "POST", "/v1/code", `{"code":"1","langauge":"js"}`, 400, []string{`unknown field \"langauge\"`}},
		{"code wrong type", "POST", "/v1/code", `{"code":5}`, 400, []string{"code: got JSON number, want string"}},
		{"code no body", "POST", "/v1/code", ``, 400, []string{"request body is empty"}},
		{"typings", "GET", "/v1/typings?tools=fn__echo", "", 200, []string{"namespace fn", "function echo(", "message: string"}},
		{"typings unknown", "GET", "/v1/typings?tools=fn__nope", "", 404, []string{"unknown_tool"}},
		{"typings none", "GET", "/v1/typings", "", 400, []string{"name at least one tool"}},
		{"search", "GET", "/v1/search?q=echo+a+message&k=2", "", 200, []string{`"name":"fn__echo"`, `"signature":"echo(`}},
		{"search empty", "GET", "/v1/search?q=", "", 400, []string{"q: "}},
		{"search long", "GET", "/v1/search?q=echo+a+message+" + strings.Repeat("and+more+context+", 1000), "", 200, []string{`"name":"fn__echo"`}},
		{"search bad k", "GET", "/v1/search?q=x&k=abc", "", 400, []string{`k: \"abc\"`}},
		{"openapi", "GET", "/v1/openapi.json", "", 200, []string{`"openapi": "3.1.0"`, `"/v1/runs/{id}/events"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := req(t, c.method, hs.URL+c.path, "", c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			for _, want := range c.contains {
				if !strings.Contains(body, want) {
					t.Fatalf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

const testPlan = `{"name": "t", "steps": [
  {"id": "a", "tool": "fn__echo", "args": {"message": "x"}},
  {"id": "b", "tool": "fn__echo", "args": {"message": "{{steps.a.result}}", "count": 2}},
  {"id": "c", "tool": "fn__sleep", "args": {"ms": 50}}
], "outputs": {"b": "{{steps.b.result}}"}}`

func TestPlansREST(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	u := hs.URL
	// validate
	status, _, body := req(t, "POST", u+"/v1/plans/validate", "", testPlan)
	if status != 200 || !strings.Contains(body, `"valid":true`) {
		t.Fatalf("validate: %d %s", status, body)
	}
	status, _, body = req(t, "POST", u+"/v1/plans/validate", "", `{"steps":[{"id":"a","tool":"fn__nope","args":{}},{"id":"b","tool":"fn__echo","args":{"message":"{{steps.zz.result}}"}}]}`)
	if status != 200 || !strings.Contains(body, `"valid":false`) || !strings.Contains(body, `"path":"steps[0].tool"`) || !strings.Contains(body, `"path":"steps[1].args.message"`) {
		t.Fatalf("validate bad: %d %s", status, body)
	}
	status, _, body = req(t, "POST", u+"/v1/plans/validate", "", `{"steps": [`)
	if status != 400 {
		t.Fatalf("validate malformed: %d %s", status, body)
	}
	// run and wait
	status, _, body = req(t, "POST", u+"/v1/runs?wait=true", "", `{"plan": `+testPlan+`}`)
	if status != 200 || !strings.Contains(body, `"status":"succeeded"`) || !strings.Contains(body, `"b":"xx"`) {
		t.Fatalf("run wait: %d %s", status, body)
	}
	// invalid plan on run
	status, _, body = req(t, "POST", u+"/v1/runs", "", `{"plan": {"steps":[{"id":"a","tool":"fn__nope","args":{}}]}}`)
	if status != 400 || !strings.Contains(body, "fn__nope") {
		t.Fatalf("run invalid: %d %s", status, body)
	}
	// async run, events, get
	status, _, body = req(t, "POST", u+"/v1/runs", "", `{"plan": `+testPlan+`}`)
	if status != 202 {
		t.Fatalf("run async: %d %s", status, body)
	}
	var started struct{ ID string }
	json.Unmarshal([]byte(body), &started)
	resp, err := http.Get(u + "/v1/runs/" + started.ID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, e)
		}
	}
	resp.Body.Close()
	if len(events) < 2 || events[len(events)-1] != "run_finished" {
		t.Fatalf("events %v", events)
	}
	status, _, body = req(t, "GET", u+"/v1/runs/"+started.ID, "", "")
	if status != 200 || !strings.Contains(body, `"status":"succeeded"`) {
		t.Fatalf("get run: %d %s", status, body)
	}
	status, _, body = req(t, "GET", u+"/v1/runs?limit=10", "", "")
	if status != 200 || strings.Count(body, `"id":`) != 2 {
		t.Fatalf("list runs: %d %s", status, body)
	}
	// cancel a long run
	status, _, body = req(t, "POST", u+"/v1/runs", "", `{"plan": {"steps":[{"id":"s","tool":"fn__sleep","args":{"ms":5000}}]}}`)
	json.Unmarshal([]byte(body), &started)
	if status, _, body = req(t, "POST", u+"/v1/runs/"+started.ID+"/cancel", "", ""); status != 202 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	// The event stream ends with run_finished once the record is final.
	resp, err = http.Get(u + "/v1/runs/" + started.ID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, _, body = req(t, "GET", u+"/v1/runs/"+started.ID, "", "")
	var canceled struct{ Status string }
	json.Unmarshal([]byte(body), &canceled)
	if canceled.Status != "canceled" { // the run's own status, not a step's
		t.Fatalf("run not canceled: %s", body)
	}
	if status, _, _ = req(t, "POST", u+"/v1/runs/"+started.ID+"/cancel", "", ""); status != 409 {
		t.Fatalf("cancel finished run: %d", status)
	}
	if status, _, _ = req(t, "GET", u+"/v1/runs/nope", "", ""); status != 404 {
		t.Fatalf("unknown run: %d", status)
	}
}
