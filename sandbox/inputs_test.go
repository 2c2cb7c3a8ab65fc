package sandbox

import (
	"context"
	"encoding/json"
	"testing"
)

func TestInputsBinding(t *testing.T) {
	s := newFixture(t, Options{}).sb
	res, err := s.Run(context.Background(), Request{Code: `"use strict"; try { inputs.n = 5 } catch (e) {} return {n: inputs.n, who: inputs.who}`,
		Inputs: json.RawMessage(`{"n": 2, "who": "é\u2028x"}`)})
	if err != nil || res.Error != nil {
		t.Fatalf("%v %v", err, res.Error)
	}
	var got struct {
		N   int
		Who string
	}
	if err := json.Unmarshal(res.Result, &got); err != nil || got.N != 2 || got.Who != "é\u2028x" {
		t.Fatalf("result %s", res.Result)
	}
	// Error positions are those of the program itself.
	res, _ = s.Run(context.Background(), Request{Code: "let x = 1;\nreturn (x +", Inputs: json.RawMessage(`{}`)})
	// An unterminated program is reported at its end, not in weft's wrapper.
	if res.Error == nil || res.Error.Kind != KindSyntax || res.Error.Line != 2 || res.Error.Column != 12 {
		t.Fatalf("syntax error %+v", res.Error)
	}
	if _, err := s.Run(context.Background(), Request{Code: "return 1", Inputs: json.RawMessage(`{`)}); err == nil {
		t.Fatal("invalid inputs accepted")
	}
}
