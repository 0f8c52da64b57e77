package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README and docs/ point at each other, and comments in code and
// s.yaml point at them; a page renamed or a section moved leaves a reader
// at a dead end. This test follows every such pointer in the repository.
var (
	mdLink      = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	docsMention = regexp.MustCompile(`\bdocs/[a-z0-9-]+\.md(#[a-z0-9-]+)?`)
	readmeQuote = regexp.MustCompile(`README,? \(?"([^"]+)"`)
	heading     = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
)

func TestDocLinksResolve(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{} // markdown file -> heading slugs
	slugsOf := func(path string) map[string]bool {
		if s, ok := anchors[path]; ok {
			return s
		}
		s := map[string]bool{}
		if b, err := os.ReadFile(path); err == nil {
			for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
				s[slug(m[1])] = true
			}
		}
		anchors[path] = s
		return s
	}
	check := func(from, target string, base string) {
		t.Helper()
		path, frag, _ := strings.Cut(target, "#")
		abs := filepath.Join(base, filepath.FromSlash(path))
		if path == "" {
			abs = filepath.Join(root, from)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Errorf("%s points at %s, which does not exist", from, target)
			return
		}
		if frag != "" && strings.HasSuffix(abs, ".md") && !slugsOf(abs)[frag] {
			t.Errorf("%s points at %s: no heading with the anchor #%s", from, target, frag)
		}
	}
	readmeHeadings := map[string]bool{}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range heading.FindAllStringSubmatch(string(readme), -1) {
		readmeHeadings[m[1]] = true
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") && name != ".ci" || name == "testdata" || name == "target" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".md", ".go", ".yaml", ".yml", ".sh", ".rego":
		default:
			return nil
		}
		if name == "changelog.md" { // history: it names pages as they were
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		text := string(b)
		files++
		if filepath.Ext(name) == ".md" {
			for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				check(rel, target, filepath.Dir(path))
			}
		}
		if !strings.HasSuffix(name, "_test.go") {
			for _, m := range docsMention.FindAllString(text, -1) {
				check(rel, m, root)
			}
		}
		for _, m := range readmeQuote.FindAllStringSubmatch(text, -1) {
			if !readmeHeadings[m[1]] {
				t.Errorf("%s points at the README's section %q, which the README does not have", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d files: the walk went wrong", files)
	}
}

// slug is GitHub's anchor of a heading: lower case, punctuation dropped,
// spaces as hyphens.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Deploy in ten lines":                            "deploy-in-ten-lines",
		"5. `vpncheck setup`":                            "5-vpncheck-setup",
		"setup and doctor flags (each with its default)": "setup-and-doctor-flags-each-with-its-default",
		"2a. Activate EventBridge":                       "2a-activate-eventbridge",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}
