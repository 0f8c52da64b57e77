package main

import (
	"strings"
	"testing"
	"time"
)

// TestRunClockRange: a clock the state cannot store is refused up front.
func TestRunClockRange(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"1970-01-01T00:00:00Z", true},
		{"8999-12-31T23:59:59Z", true},
		{"9999-12-31T23:59:59Z", false},
		{"9000-01-01T00:00:00Z", false},
		{"0000-01-01T00:00:00Z", false},
		{"1969-12-31T23:59:59Z", false},
	} {
		got, err := runClock(func(k string) string { return map[string]string{envNow: tc.value}[k] })
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v, %v", tc.value, got, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "out of range") || !got.IsZero()) {
			t.Errorf("%q: %v, %v", tc.value, got, err)
		}
	}
	want, _ := time.Parse(time.RFC3339, "8999-12-31T23:59:59Z")
	if got, _ := runClock(func(string) string { return "8999-12-31T23:59:59Z" }); !got.Equal(want) {
		t.Errorf("got %v", got)
	}
}
