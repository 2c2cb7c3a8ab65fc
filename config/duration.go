package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// durationHint is appended to every "not a duration" message.
const durationHint = "not a duration (e.g. 30s, 2m)"

// String formats the duration compactly: "30s", "2m", "1h30m", "24h".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseDuration parses a Go duration string such as "30s", "2m" or "1h30m".
// A bare number is not accepted (except "0"): a unit is required.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q: %s", s, durationHint)
	}
	return Duration(d), nil
}

// MarshalJSON writes the duration as a JSON string ("30s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string such as "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %s", b, durationHint)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as a YAML string ("30s").
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a YAML string such as "30s".
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	s, ok := v.(string)
	if !ok {
		// A number such as 30: say what was written and what is allowed.
		return fmt.Errorf("%s: %s", strconv.Quote(fmt.Sprint(v)), durationHint)
	}
	p, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
