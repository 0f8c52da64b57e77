package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
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
// the binary the tests build is removed at the end (TestMain). This test
// binary is run again, for one test that runs the binary, with a fresh
// TMPDIR, which must be empty afterwards. The second run puts a copy of
// this run's build where it would build one: what is checked is what
// vpncheck's tests leave, not what the go command does with its own
// temporary files, and linking the test binary and the binary again
// would double this package's CPU time.
func TestBuiltBinaryIsRemovedAfterTheRun(t *testing.T) {
	t.Parallel() // a process of its own, mostly the compiler's time: overlaps the others
	if testing.Short() {
		t.Skip("runs the tests again, which builds the binary")
	}
	if os.Getenv("VPNCHECK_TEST_BINARY") != "" {
		t.Skip("VPNCHECK_TEST_BINARY: the tests build nothing")
	}
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	const child = "TestHostileNoCredentialsSaysWhatToDo"
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.v", "-test.run=^"+child+"$")
	cmd.Env = append(slices.Clone(startEnv), "TMPDIR="+tmp, envBuiltBinary+"="+vpncheckBinary(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests again: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+child) {
		t.Fatalf("the tests again did not run %s:\n%s", child, out)
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
	code, out, errs := cli(t, nil, "version")
	m := regexp.MustCompile(`policies: (built-in [0-9a-f]{12}),`).FindStringSubmatch(out)
	if code != exitOK || m == nil {
		t.Fatalf("version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	want := m[1]
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

// VPNCHECK_KEY_PEPPER keys the state's key fingerprints and never shows:
// not in the state, the report or stderr. Without it a run that keeps
// fingerprints warns once on stderr; a pepper too short to be secret is a
// usage error that does not quote it.
func TestKeyPepper(t *testing.T) {
	const pepper = "CANARY-PEPPER-6d2f0b9e4a71c853"
	run := func(t *testing.T, env map[string]string, args ...string) (stateFiles string, code int, out, errs string) {
		t.Helper()
		dir := t.TempDir()
		args = append([]string{"check", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou", "--state", dir}, args...)
		code, out, errs = cli(t, env, args...)
		var all strings.Builder
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				all.Write(readStateObject(p))
			}
			return nil
		})
		return all.String(), code, out, errs
	}
	t.Run("peppered", func(t *testing.T) {
		for _, format := range []string{"text", "json"} {
			state, code, out, errs := run(t, map[string]string{"VPNCHECK_KEY_PEPPER": pepper}, "--format", format)
			if code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if !strings.Contains(state, `"salt": "pbkdf2-sha256-hmac:`) && !strings.Contains(state, `"salt":"pbkdf2-sha256-hmac:`) {
				t.Errorf("the state's prints are not peppered:\n%.600s", state)
			}
			for name, text := range map[string]string{"state": state, "report": out, "stderr": errs} {
				if strings.Contains(text, "CANARY-PEPPER") || strings.Contains(text, "6d2f0b9e4a71c853") {
					t.Errorf("%s (%s) shows the pepper", name, format)
				}
			}
			if errs != "" {
				t.Errorf("stderr %q, want nothing", errs)
			}
		}
	})
	t.Run("unpeppered warns once", func(t *testing.T) {
		state, code, _, errs := run(t, nil)
		if code != exitOK || strings.Count(errs, "level=WARN") != 1 || !strings.Contains(errs, "key fingerprints are not peppered") || !strings.Contains(errs, "VPNCHECK_KEY_PEPPER") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
		if !strings.Contains(state, "pbkdf2-sha256:1000:") {
			t.Errorf("no unpeppered prints in the state:\n%.600s", state)
		}
		// No fingerprints kept (no --state): nothing to warn about.
		if code, _, errs := cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou"); code != exitOK || errs != "" {
			t.Errorf("without --state: exit %d, stderr %q", code, errs)
		}
	})
	t.Run("too short", func(t *testing.T) {
		_, code, _, errs := run(t, map[string]string{"VPNCHECK_KEY_PEPPER": "CANARY-short"})
		if code != exitUsage || !strings.Contains(errs, "VPNCHECK_KEY_PEPPER is 12 bytes long") || strings.Contains(errs, "CANARY") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
}

// In Function Compute the pepper keys the prints a timer run leaves for a
// change event's run, which still tells reuse with them; it reaches no
// log, result, Slack message or state file. Without it each invocation
// that keeps prints warns once in the log.
func TestFunctionKeyPepper(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const pepper = "CANARY-FC-PEPPER-1b8d4e7a90c2f365"
	for _, peppered := range []bool{true, false} {
		stateDir := t.TempDir()
		env := map[string]string{"VPNCHECK_STATE": stateDir}
		if peppered {
			env["VPNCHECK_KEY_PEPPER"] = pepper
		}
		e := startFunction(t, env)
		const modify, other, shared = "vco-testmodify0001", "vco-other-0001", "CANARY-FC-PSK-shared-Zr5wX9p$Kd3nB7cF1hJ6"
		withKey := func(c map[string]any, key string) map[string]any {
			c["IkeConfig"].(map[string]any)["Psk"] = key
			return c
		}
		e.vpc.AddConnections("cn-hangzhou", withKey(strongAt("cn-hangzhou", modify, 1), "CANARY-FC-PSK-own-Vt8#qL2m!wX9pB7cF"),
			withKey(strongAt("cn-hangzhou", other, 2), shared))
		invoke := func(body string) fcOutcome { return e.rt.invoke(t, body, e.creds, 30*time.Second) }
		timer := invoke(`{"triggerTime": "2026-11-25T10:05:00Z", "triggerName": "hourly", "payload": "{}"}`)
		e.vpc.ReplaceConnection("cn-hangzhou", withKey(strongAt("cn-hangzhou", modify, 1), shared))
		seen := len(e.slack.Posts())
		event := invoke(eventBody(t, "api-modify-weakens.json"))
		mustContain(t, "the message", e.postedSince(seen), "psk-reused", "shared by 2 tunnels")

		var state strings.Builder
		filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				state.Write(readStateObject(p))
			}
			return nil
		})
		// The SDK's end line for the event's invocation: its log is whole.
		if !e.waitLog("FC Invoke End RequestId: req-0002") {
			t.Fatalf("the event's invocation did not end in the log:\n%s", e.logs.String())
		}
		logs := e.logs.String()
		if peppered {
			var slack strings.Builder
			for _, r := range e.slack.Requests() {
				slack.WriteString(r.Body)
			}
			for name, text := range map[string]string{"log": logs, "state": state.String(), "slack": slack.String(),
				"timer result": string(timer.body), "event result": string(event.body)} {
				if strings.Contains(text, "PEPPER") || strings.Contains(text, "1b8d4e7a90c2f365") {
					t.Errorf("the %s shows the pepper", name)
				}
			}
			if !strings.Contains(state.String(), "pbkdf2-sha256-hmac:") || strings.Contains(logs, "not peppered") {
				t.Errorf("peppered: state prints %v, warned %v", strings.Contains(state.String(), "pbkdf2-sha256-hmac:"), strings.Contains(logs, "not peppered"))
			}
		} else if n := strings.Count(logs, "key fingerprints are not peppered"); n != 2 {
			t.Errorf("unpeppered: %d warnings for 2 invocations:\n%s", n, logs)
		}
	}
}

// readStateObject is a state object's text: a generation's header line and
// its document unzipped (generations are gzip'd JSON), anything else as is.
func readStateObject(p string) []byte {
	b, _ := os.ReadFile(p)
	head, doc, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !bytes.HasPrefix(doc, []byte{0x1f, 0x8b}) {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(doc))
	if err != nil {
		return b
	}
	plain, _ := io.ReadAll(zr)
	return append(append(head, '\n'), plain...)
}
