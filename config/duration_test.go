package config

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestDurationString(t *testing.T) {
	tests := map[time.Duration]string{
		0:                                 "0s",
		30 * time.Second:                  "30s",
		2 * time.Minute:                   "2m",
		24 * time.Hour:                    "24h",
		90 * time.Minute:                  "1h30m",
		time.Hour + time.Second:           "1h0m1s",
		1500 * time.Millisecond:           "1.5s",
		2*time.Minute + 30*time.Second:    "2m30s",
		-5 * time.Second:                  "-5s",
		time.Hour + 10*time.Minute + 10e9: "1h10m10s",
	}
	for d, want := range tests {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		back, err := ParseDuration(want)
		if err != nil || back != Duration(d) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", want, back, err, d)
		}
	}
}

type durations struct {
	A Duration `json:"a" yaml:"a"`
	B Duration `json:"b" yaml:"b"`
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(durations{Duration(30 * time.Second), Duration(2 * time.Hour)})
	if err != nil || string(b) != `{"a":"30s","b":"2h"}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var v durations
	if err := json.Unmarshal([]byte(`{"a":"1m","b":"1h30m"}`), &v); err != nil || v.A.D() != time.Minute || v.B.D() != 90*time.Minute {
		t.Fatalf("json.Unmarshal = %+v, %v", v, err)
	}
	for in, want := range map[string]string{
		`{"a":"3x"}`: `"3x": not a duration (e.g. 30s, 2m)`,
		`{"a":30}`:   `30: not a duration (e.g. 30s, 2m)`,
	} {
		if err := json.Unmarshal([]byte(in), &v); err == nil || err.Error() != want {
			t.Errorf("json.Unmarshal(%s) error = %v, want %q", in, err, want)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	b, err := yaml.Marshal(durations{Duration(30 * time.Second), Duration(2 * time.Minute)})
	if err != nil || string(b) != "a: 30s\nb: 2m\n" {
		t.Fatalf("yaml.Marshal = %q, %v", b, err)
	}
	var v durations
	if err := yaml.Unmarshal([]byte("a: 45s\nb: \"24h\"\n"), &v); err != nil || v.A.D() != 45*time.Second || v.B.D() != 24*time.Hour {
		t.Fatalf("yaml.Unmarshal = %+v, %v", v, err)
	}
	if err := yaml.Unmarshal([]byte("a: 3x\n"), &v); err == nil {
		t.Error("yaml.Unmarshal(a: 3x): want an error")
	}
	if err := yaml.Unmarshal([]byte("a: 30\n"), &v); err == nil {
		t.Error("yaml.Unmarshal(a: 30): want an error (a unit is required)")
	}
}
