package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/compiled"
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

// A run of this package's tests leaves nothing in the temporary directory:
// the binary the tests build is removed at the end (TestMain). One test
// that builds and runs the binary is run again as its own `go test` with a
// fresh TMPDIR, which must be empty afterwards.
func TestBuiltBinaryIsRemovedAfterTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test again, which builds the binary")
	}
	if os.Getenv("VPNCHECK_TEST_BINARY") != "" {
		t.Skip("VPNCHECK_TEST_BINARY: the tests build nothing")
	}
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestHostileNoCredentialsSaysWhatToDo$", ".")
	cmd.Env = append(slices.Clone(startEnv), "TMPDIR="+tmp, "GOTMPDIR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok") {
		t.Fatalf("go test ran nothing:\n%s", out)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in TMPDIR after the run: %s", e.Name())
	}
}

// The JSON and text reports name the policies that judged the run, as
// `vpncheck version` and the Slack footer do.
func TestReportsNamePolicyRevision(t *testing.T) {
	want := "built-in " + compiled.SourceHash[:12]
	code, out, errs := cli(t, nil, "version")
	if code != exitOK || !strings.Contains(out, "policies: "+want+",") {
		t.Fatalf("version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep["policy_revision"] != want {
		t.Errorf("policy_revision = %v, want %q", rep["policy_revision"], want)
	}
	code, out, errs = cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou")
	if code != exitOK || !strings.Contains(out, "\n  policies: "+want+"\n") {
		t.Errorf("text: exit %d, stderr %q, no policies line in:\n%.400s", code, errs, out)
	}
}
