package main

import (
	"os"
	"path/filepath"
	"testing"
)

// --dump-input names every weak key's length and guess estimate: it is
// written for its owner only, like a saved inventory, whatever the umask
// and whatever mode a file it replaces had.
func TestDumpInputIsPrivate(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.json")
	if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o644); err != nil { // past the umask
		t.Fatal(err)
	}
	for _, name := range []string{filepath.Join(dir, "new.json"), existing} {
		code, _, errs := cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou", "--dump-input", name)
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", name, code, errs)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(name), fi.Mode().Perm())
		}
		if fi.Size() < 10 {
			t.Errorf("%s: %d bytes, want the inputs", filepath.Base(name), fi.Size())
		}
	}
}
