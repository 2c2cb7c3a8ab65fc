package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

type weatherIn struct {
	City  string `json:"city" jsonschema:"city name"`
	Units string `json:"units,omitempty" jsonschema:"c or f"`
	Days  int    `json:"days,omitempty"`
}

type weatherOut struct {
	TempC float64 `json:"temp_c"`
	Sky   string  `json:"sky"`
}

func TestAddInfersSchemasAndCalls(t *testing.T) {
	s := function.New("wx", "Weather tools")
	err := function.Add(s, "forecast", "Forecast for a city", func(ctx context.Context, in weatherIn) (weatherOut, error) {
		return weatherOut{TempC: 21.5, Sky: "clear over " + in.City}, nil
	}, function.WithTitle("Forecast"), function.WithTags("weather"), function.ReadOnly(), function.WithExamples(weatherIn{City: "Oslo"}))
	if err != nil {
		t.Fatal(err)
	}
	tools, err := s.Tools(context.Background())
	if err != nil || len(tools) != 1 {
		t.Fatalf("%v %v", tools, err)
	}
	tool := tools[0]
	if tool.Server != "wx" || tool.Original != "forecast" || tool.Title != "Forecast" || !tool.Annotations.ReadOnly() ||
		tool.Tags[0] != "weather" || string(tool.Examples[0]) != `{"city":"Oslo"}` || tool.ServerDescription != "Weather tools" {
		t.Fatalf("tool %+v", tool)
	}
	var in map[string]any
	json.Unmarshal(tool.InputSchema, &in)
	props := in["properties"].(map[string]any)
	if in["type"] != "object" || props["city"].(map[string]any)["description"] != "city name" ||
		props["days"].(map[string]any)["type"] != "integer" || len(in["required"].([]any)) != 1 {
		t.Fatalf("input schema %s", tool.InputSchema)
	}
	if !strings.Contains(string(tool.OutputSchema), `"temp_c"`) {
		t.Fatalf("output schema %s", tool.OutputSchema)
	}
	// The inferred schema validates arguments in the catalog.
	snap := catalog.NewSnapshot(tools)
	if err := snap.Validate("wx__forecast", json.RawMessage(`{"days": 2}`)); err == nil || !strings.Contains(err.Error(), "missing property 'city'") {
		t.Fatalf("validation: %v", err)
	}
	res, err := s.Call(context.Background(), "forecast", json.RawMessage(`{"city":"Oslo"}`))
	if err != nil || res.IsError || string(res.StructuredContent) != `{"temp_c":21.5,"sky":"clear over Oslo"}` {
		t.Fatalf("call: %v %+v", err, res)
	}
}

func TestErrorsPanicsAndCancellation(t *testing.T) {
	s := function.New("f", "")
	function.Must(function.Add(s, "fail", "", func(ctx context.Context, in struct{}) (string, error) { return "", errors.New("no luck") }))
	function.Must(function.Add(s, "boom", "", func(ctx context.Context, in struct{}) (string, error) { panic("kaput") }))
	function.Must(function.Add(s, "wait", "", func(ctx context.Context, in struct{}) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}))
	cases := []struct{ tool, args, text string }{
		{"fail", `{}`, "no luck"},
		{"boom", `{}`, "tool boom panicked: kaput"},
		{"fail", `{"x":`, "invalid arguments: unexpected EOF"},
	}
	for _, c := range cases {
		res, err := s.Call(context.Background(), c.tool, json.RawMessage(c.args))
		if err != nil || !res.IsError || res.Text() != c.text {
			t.Errorf("%s: %v %+v (text %q)", c.tool, err, res, res.Text())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Call(ctx, "wait", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled call: %v", err)
	}
	if _, err := s.Call(context.Background(), "nope", nil); !errors.Is(err, source.ErrUnknownTool) {
		t.Fatalf("unknown: %v", err)
	}
	s.Close()
	if _, err := s.Call(context.Background(), "fail", nil); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	if h := s.Health(); h.State != source.StateClosed {
		t.Fatalf("health %+v", h)
	}
}

func TestAddRejectsBadTools(t *testing.T) {
	s := function.New("f", "")
	if err := function.Add(s, "bad name!", "", func(ctx context.Context, in struct{}) (int, error) { return 0, nil }); err == nil {
		t.Fatal("invalid name accepted")
	}
	if err := function.Add(s, "scalar", "", func(ctx context.Context, in int) (int, error) { return 0, nil }); err == nil ||
		!strings.Contains(err.Error(), "must be a struct or map") {
		t.Fatalf("scalar input: %v", err)
	}
}

func TestAddAfterStartNotifies(t *testing.T) {
	s := function.New("f", "")
	fired := make(chan struct{}, 1)
	s.OnToolsChanged(func() { fired <- struct{}{} })
	function.Must(function.Add(s, "late", "", func(ctx context.Context, in struct{}) (int, error) { return 1, nil }))
	select {
	case <-fired:
	default:
		t.Fatal("no change notification")
	}
}
