package main

import "testing"

func TestPrefixedSaysWeftOnce(t *testing.T) {
	for msg, want := range map[string]string{
		"weft: plans: open run store: refused": "weft: plans: open run store: refused",
		"unknown command \"x\"":                "weft: unknown command \"x\"",
		"weftish: x":                           "weft: weftish: x",
	} {
		if got := prefixed(msg); got != want {
			t.Errorf("prefixed(%q) = %q, want %q", msg, got, want)
		}
	}
}
