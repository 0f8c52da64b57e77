package policies_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/policies"
)

// TestReadmeRuleTable holds the README's "What it checks" table to the
// rules' METADATA: every built-in rule listed once, with its default
// severity first in the severity column, and no rule that does not exist.
func TestReadmeRuleTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## What it checks\n")
	if !ok {
		t.Fatal(`README.md has no "## What it checks" section`)
	}
	table, _, _ = strings.Cut(table, "\n## ")

	listed := map[string]string{} // rule id -> severity column
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "id" {
			continue
		}
		for _, id := range strings.Split(cells[1], ",") {
			id = strings.TrimSpace(id)
			if _, dup := listed[id]; dup {
				t.Errorf("README lists %s twice", id)
			}
			listed[id] = strings.TrimSpace(cells[3])
		}
	}

	set := load(t, policies.Options{})
	for _, r := range set.Rules {
		sev, ok := listed[r.ID]
		if !ok {
			t.Errorf("README's rule table lacks %s", r.ID)
			continue
		}
		if first, _, _ := strings.Cut(sev, " "); first != string(r.Severity) {
			t.Errorf("README gives %s the severity %q; its METADATA says %s", r.ID, sev, r.Severity)
		}
		delete(listed, r.ID)
	}
	for id := range listed {
		t.Errorf("README lists %s, which is no built-in rule", id)
	}
}
