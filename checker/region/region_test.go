package region

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		ids, also []string
		want      string // "" accepted
	}{
		{[]string{"cn-hangzhou", "ap-southeast-1", "na-south-1"}, nil, ""},
		{[]string{"cn-hangzou"}, nil, "unknown region cn-hangzou; did you mean cn-hangzhou?"},
		{[]string{"cn-hangzhou", "cn-shangai"}, nil, "unknown region cn-shangai; did you mean cn-shanghai?"},
		{[]string{"CN-HANGZHOU"}, nil, "did you mean cn-hangzhou?"},
		{[]string{"hangzhou"}, nil, "did you mean cn-hangzhou?"},
		{[]string{"ap-southeast-9"}, nil, "did you mean ap-southeast-"},
		{[]string{"xx-test-1"}, []string{"xx-test-1"}, ""},
		{[]string{"xx-test-2"}, []string{"xx-test-1"}, "unknown region xx-test-2; did you mean xx-test-1?"},
		{[]string{"banana"}, nil, "unknown region banana: not an Alibaba Cloud region id"},
		{[]string{"all"}, nil, "unknown region all"}, // "all" is the caller's to expand
	} {
		err := Check(tc.ids, tc.also)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.ids, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want %q", tc.ids, err, tc.want)
		}
	}
}

func TestBuiltinIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range Builtin() {
		if seen[id] || id != strings.ToLower(id) || strings.Count(id, "-") < 1 {
			t.Errorf("built-in region %q is repeated or malformed", id)
		}
		seen[id] = true
	}
	for _, id := range []string{"cn-hangzhou", "cn-wuhan-lr", "ap-southeast-7", "me-central-1", "na-south-1", "eu-west-1"} {
		if !IsBuiltin(id) {
			t.Errorf("%s is not built in", id)
		}
	}
}

func TestUnknown(t *testing.T) {
	got := Unknown([]string{"all", "cn-hangzhou", "xx-1"}, []string{"ALL", "xx-1", "cn-hangzou"})
	if strings.Join(got, ",") != "xx-1,cn-hangzou" {
		t.Errorf("Unknown = %v", got)
	}
}
