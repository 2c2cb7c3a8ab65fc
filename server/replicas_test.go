package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
)

// TestRunThroughAnotherReplica: two weft servers share one PostgreSQL run
// store. A run started through replica A is read, listed, followed over
// server-sent events and canceled through replica B.
func TestRunThroughAnotherReplica(t *testing.T) {
	url := testenv.PostgresURL(t)
	replica := func(id string) func(*config.Config) {
		return func(c *config.Config) {
			c.Runs.Store = url
			c.Server.ReplicaID = id
		}
	}
	_, a, _ := newServer(t, replica("a"))
	startedA := sleepStarted
	_, b, _ := newServer(t, replica("b"))

	status, _, body := req(t, "POST", a.URL+"/v1/runs", "", `{"plan": {"steps":[
		{"id":"e","tool":"fn__echo","args":{"message":"hi"}},
		{"id":"s","tool":"fn__sleep","args":{"ms":60000},"depends_on":["e"]}]}}`)
	if status != 202 {
		t.Fatalf("start on A: %d %s", status, body)
	}
	var started struct{ ID string }
	if err := json.Unmarshal([]byte(body), &started); err != nil || started.ID == "" {
		t.Fatalf("start on A: %s", body)
	}
	id := started.ID
	<-startedA
	if status, _, body = req(t, "GET", b.URL+"/v1/runs/"+id, "", ""); status != 200 || !strings.Contains(body, `"status":"running"`) {
		t.Fatalf("get through B: %d %s", status, body)
	}
	if status, _, body = req(t, "GET", b.URL+"/v1/runs?status=running", "", ""); status != 200 || !strings.Contains(body, id) {
		t.Fatalf("list through B: %d %s", status, body)
	}

	resp, err := http.Get(b.URL + "/v1/runs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events through B: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type event struct {
		Type, Step, Status string
	}
	events := make(chan event)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e event
				if json.Unmarshal([]byte(data), &e) == nil {
					events <- e
				}
			}
		}
	}()
	// The stream starts with the events so far: up to s starting.
	var seen []string
	for e := range events {
		seen = append(seen, e.Type+":"+e.Step)
		if e.Type == "step_started" && e.Step == "s" {
			break
		}
	}
	if got := strings.Join(seen, " "); got != "run_started: step_started:e step_finished:e step_started:s" {
		t.Errorf("events through B so far: %s", got)
	}
	if status, _, body = req(t, "POST", b.URL+"/v1/runs/"+id+"/cancel", "", ""); status != 202 {
		t.Fatalf("cancel through B: %d %s", status, body)
	}
	var last event
	deadline := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case e, ok := <-events:
			if !ok {
				done = true
				break
			}
			last = e
		case <-deadline:
			t.Fatal("the event stream through B did not end after the cancel")
		}
	}
	if last.Type != "run_finished" || last.Status != "canceled" {
		t.Errorf("last event through B: %+v", last)
	}
	for _, u := range []string{a.URL, b.URL} {
		if status, _, body = req(t, "GET", u+"/v1/runs/"+id, "", ""); status != 200 || !strings.Contains(body, `"status":"canceled"`) {
			t.Errorf("record after the cancel (%s): %d %s", u, status, body)
		}
	}
	if status, _, _ = req(t, "POST", b.URL+"/v1/runs/"+id+"/cancel", "", ""); status != 409 {
		t.Errorf("cancel of a finished run through B: %d", status)
	}
	if status, _, _ = req(t, "GET", b.URL+"/v1/runs/nope/events", "", ""); status != 404 {
		t.Errorf("events of an unknown run: %d", status)
	}
}
