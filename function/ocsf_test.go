package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// check --format ocsf: one Compliance Finding a line, naming this build,
// no key; rules --format ocsf is refused.
func TestCheckFormatOCSF(t *testing.T) {
	code, out, errs := cli(t, nil, "check", "--inventory", "../testdata/canary.json", "--format", "ocsf")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var e struct {
			ClassUID int `json:"class_uid"`
			Metadata struct {
				Product struct{ Version string } `json:"product"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ClassUID != 2003 || e.Metadata.Product.Version != buildVersion() {
			t.Errorf("line %d: %v %+v: %s", i, err, e, l)
		}
	}
	for _, c := range canaries {
		if strings.Contains(out, c) {
			t.Errorf("output holds key %s", c)
		}
	}
	if code, _, errs := cli(t, nil, "rules", "--format", "ocsf"); code == exitOK || !strings.Contains(errs, "ocsf is a format of findings") {
		t.Errorf("rules --format ocsf: exit %d, %q", code, errs)
	}
}
