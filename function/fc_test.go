package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/vpcfake"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

// The function is tested as the compiled binary, served by a fake of the
// Function Compute runtime API (the protocol fc-runtime-go-sdk speaks),
// against the fake VPC API and the fake Slack.

var (
	binOnce sync.Once
	binDir  string // removed by TestMain once every test has run
	binPath string
	binErr  error
)

// startEnv is the environment before any test changed it.
var startEnv = os.Environ()

// TestMain removes the binary the tests built (about 60 MB a run), which
// no single test owns: the first test that needs it builds it, once.
//
// Most tests here wait on processes of their own (the binary under fakes,
// its retries and deadlines) rather than on the CPU, so unless -parallel
// is given they run more at once than the default of one per CPU.
func TestMain(m *testing.M) {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	// (-parallel is also the number of fuzzing workers: left alone then.)
	if !parallelSet && flag.Lookup("test.fuzz").Value.String() == "" {
		flag.Set("test.parallel", strconv.Itoa(max(8, 2*runtime.GOMAXPROCS(0))))
	}
	// A whole run needs the binary: build it while the in-process tests
	// run, rather than when the first test that runs it starts.
	if flag.Lookup("test.run").Value.String() == "" && !testing.Short() && os.Getenv("VPNCHECK_TEST_BINARY") == "" {
		go binOnce.Do(buildBinary)
	}
	code := m.Run()
	binOnce.Do(func() {}) // a build still under way ends before its removal
	if binDir != "" {
		if err := os.RemoveAll(binDir); err != nil {
			fmt.Fprintf(os.Stderr, "remove the test binary: %v\n", err)
		}
	}
	os.Exit(code)
}

// envBuiltBinary names a binary these tests already built, which
// vpncheckBinary copies where it would build one.
const envBuiltBinary = "VPNCHECK_TEST_BUILT_BINARY"

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o700)
}

func vpncheckBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(buildBinary)
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// buildBinary builds the binary once (under binOnce), or copies the one
// named by envBuiltBinary.
func buildBinary() {
	dir, err := os.MkdirTemp("", "vpncheck-bin")
	if err != nil {
		binErr = err
		return
	}
	binDir = dir
	binPath = filepath.Join(dir, "vpncheck")
	if from := os.Getenv(envBuiltBinary); from != "" {
		// TestBuiltBinaryIsRemovedAfterTheRun's second run: the build
		// it leaves behind or not, without linking it again.
		binErr = copyFile(from, binPath)
		return
	}
	// Without a symbol table and DWARF, as deployed (.ci/run): a
	// quicker link, and the binary the function runs.
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", binPath, ".")
	// The environment the test binary started with: a test that moved
	// HOME before the first build must not send go to an empty module
	// cache.
	build.Env = startEnv
	out, err := build.CombinedOutput()
	if err != nil {
		binErr = fmt.Errorf("go build: %v\n%s", err, out)
	}
}

// fakeRuntime serves GET .../invocation/next and takes the results POSTed
// to .../invocation/{id}/response or /error.
type fakeRuntime struct {
	srv     *httptest.Server
	queue   chan fcCall
	mu      sync.Mutex
	results map[string]chan fcOutcome
	seq     int
}

type fcCall struct {
	id      string
	body    []byte
	headers http.Header
	timeout time.Duration // the deadline runs from the dispatch, as FC's does
}

type fcOutcome struct {
	failed bool // posted to /error
	body   []byte
}

const runtimePrefix = "/2020-11-11/runtime/invocation/"

func newFakeRuntime(t *testing.T) *fakeRuntime {
	rt := &fakeRuntime{queue: make(chan fcCall, 8), results: map[string]chan fcOutcome{}}
	rt.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, runtimePrefix)
		switch {
		case !ok:
			http.NotFound(w, r)
		case r.Method == http.MethodGet && rest == "next":
			select {
			case c := <-rt.queue:
				for k, v := range c.headers {
					w.Header()[k] = v
				}
				// Stamped when the instance takes the invocation, not when
				// the test queued it: an instance still starting on a busy
				// machine does not lose its time before it begins.
				w.Header().Set("x-fc-function-deadline", strconv.FormatInt(time.Now().Add(c.timeout).UnixMilli(), 10))
				w.Header().Set("x-fc-request-id", c.id)
				w.Write(c.body)
			case <-r.Context().Done():
			}
		case r.Method == http.MethodPost:
			id, kind, _ := strings.Cut(rest, "/")
			body, _ := io.ReadAll(r.Body)
			rt.mu.Lock()
			ch := rt.results[id]
			rt.mu.Unlock()
			if ch == nil || (kind != "response" && kind != "error") {
				http.Error(w, "unknown invocation", http.StatusNotFound)
				return
			}
			ch <- fcOutcome{failed: kind == "error", body: body}
		default:
			http.Error(w, "bad request", http.StatusBadRequest)
		}
	}))
	t.Cleanup(rt.srv.Close)
	return rt
}

func (rt *fakeRuntime) address() string { return strings.TrimPrefix(rt.srv.URL, "http://") }

// invoke queues one invocation with the headers FC sends and waits for its result.
func (rt *fakeRuntime) invoke(t *testing.T, body string, creds vpcfake.Credentials, timeout time.Duration) fcOutcome {
	t.Helper()
	rt.mu.Lock()
	rt.seq++
	id := fmt.Sprintf("req-%04d", rt.seq)
	ch := make(chan fcOutcome, 1)
	rt.results[id] = ch
	rt.mu.Unlock()
	h := http.Header{}
	h.Set("x-fc-function-timeout", strconv.Itoa(int(timeout.Seconds())))
	h.Set("x-fc-access-key-id", creds.AccessKeyID)
	h.Set("x-fc-access-key-secret", creds.AccessKeySecret)
	h.Set("x-fc-security-token", creds.SecurityToken)
	h.Set("x-fc-region", "cn-hangzhou")
	h.Set("x-fc-account-id", "1234567890123456")
	h.Set("x-fc-function-name", "vpncheck")
	h.Set("x-fc-function-handler", "vpncheck")
	h.Set("x-fc-function-memory", "256")
	rt.queue <- fcCall{id: id, body: []byte(body), headers: h, timeout: timeout}
	select {
	case out := <-ch:
		return out
	case <-time.After(timeout + 30*time.Second):
		t.Fatalf("invocation %s: no result", id)
		return fcOutcome{}
	}
}

// fcEnv is one deployed function: its binary, the fakes it talks to, and
// the invocation credentials the fake VPC API accepts.
// waitLog waits a little for the function's output to reach the log: the
// result can arrive before the pipe from the process is drained.
func (e *fcEnv) waitLog(s string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.logs.String(), s) {
			return true
		}
	}
	return false
}

type fcEnv struct {
	rt    *fakeRuntime
	vpc   *vpcfake.Server
	slack *slackfake.Server
	creds vpcfake.Credentials
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var fcCreds = vpcfake.Credentials{
	AccessKeyID:     "STS.FCINVOKEKEYID01",
	AccessKeySecret: "CANARY-FC-SECRET-5d1e8a",
	SecurityToken:   "CANARY-FC-TOKEN-0b7c93",
}

// startFunction starts the binary as Function Compute would, with env
// added, against fakes of its own.
func startFunction(t *testing.T, env map[string]string) *fcEnv {
	t.Helper()
	e := &fcEnv{rt: newFakeRuntime(t), creds: fcCreds, logs: &syncBuffer{}}
	e.vpc = vpcfake.Start(fcCreds)
	t.Cleanup(e.vpc.Close)
	e.slack = slackfake.New(slackfake.Options{})
	t.Cleanup(e.slack.Close)
	launch(t, e, env,
		"SLACK_WEBHOOK_URL="+e.slack.WebhookURL(),
		"DEBUG=tea", // must be ignored: it would print the security token
	)
	return e
}

// launch is the one way the tests start the binary as Function Compute
// would: a process under e's fake runtime, against e's fake VPC API, with
// extra and then env added to its environment (nothing inherited but
// PATH). The process is killed when the test ends.
func launch(t *testing.T, e *fcEnv, env map[string]string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(testBinary(t))
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"FC_RUNTIME_API=" + e.rt.address(),
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
		"ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true",
		"VPNCHECK_VPC_ENDPOINT=" + e.vpc.URL,
		"VPNCHECK_REGIONS=cn-hangzhou,cn-shanghai",
	}, extra...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() || testing.Verbose() {
			t.Logf("function log:\n%s", e.logs.String())
		}
	})
	return cmd
}

// weakConn is a connection with several violations and planted secrets.
func weakConn(region string, i int) any {
	c := vpcfake.Connection(region, i).(map[string]any)
	c["Name"] = fmt.Sprintf("branch-%s-%d", region, i)
	ike := c["IkeConfig"].(map[string]any)
	ike["IkeAuthAlg"], ike["IkePfs"], ike["IkeVersion"] = "md5", "group2", "ikev1"
	ike["Psk"] = "CANARY-FC-PSK-" + region
	c["IpsecConfig"].(map[string]any)["IpsecPfs"] = "group5"
	c["VpnBgpConfig"].(map[string]any)["AuthKey"] = "CANARY-FC-BGP-" + region
	return c
}

func (e *fcEnv) secrets() []string {
	return []string{e.creds.AccessKeySecret, e.creds.SecurityToken, "CANARY-FC-PSK", "CANARY-FC-BGP", "fakewebhooksecret"}
}

// assertNoSecrets checks the function's log, its result and every Slack request.
func (e *fcEnv) assertNoSecrets(t *testing.T, out fcOutcome) {
	t.Helper()
	var slack strings.Builder
	for _, r := range e.slack.Requests() {
		slack.WriteString(r.Body)
	}
	for _, where := range []struct{ name, text string }{
		{"log", e.logs.String()}, {"result", string(out.body)}, {"slack", slack.String()},
	} {
		for _, s := range e.secrets() {
			if strings.Contains(where.text, s) {
				t.Errorf("%s holds secret %s", where.name, s)
			}
		}
	}
}

type fcResultJSON struct {
	SchemaVersion int    `json:"schema_version"`
	RunKey        string `json:"run_key"`
	DryRun        bool   `json:"dry_run"`
	Summary       struct {
		Connections    int            `json:"connections"`
		Findings       int            `json:"findings"`
		BySeverity     map[string]int `json:"by_severity"`
		RegionsScanned []string       `json:"regions_scanned"`
		RegionsFailed  []string       `json:"regions_failed"`
	} `json:"summary"`
	Errors []map[string]any `json:"errors"`
	Slack  *struct {
		Messages, Posted, Skipped int
	} `json:"slack"`
}

func decodeResult(t *testing.T, out fcOutcome) fcResultJSON {
	t.Helper()
	if out.failed {
		t.Fatalf("invocation failed: %s", out.body)
	}
	var r fcResultJSON
	if err := json.Unmarshal(out.body, &r); err != nil {
		t.Fatalf("result %s: %v", out.body, err)
	}
	return r
}

const timerEvent = `{"triggerTime": "2026-11-25T10:05:00Z", "triggerName": "hourly", "payload": "{}"}`

func TestFunctionTimerRun(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, nil)
	e.vpc.Generate("cn-hangzhou", 3, weakConn)
	e.vpc.Generate("cn-shanghai", 2, weakConn)
	e.slack.FailNext(slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 1})

	out := e.rt.invoke(t, timerEvent, e.creds, 60*time.Second)
	r := decodeResult(t, out)
	if r.SchemaVersion != 1 || r.Summary.Connections != 5 || r.Summary.Findings == 0 || len(r.Summary.RegionsScanned) != 2 {
		t.Errorf("result = %s", out.body)
	}
	if r.RunKey != "hourly@2026-11-25T10:05:00Z" || r.Slack == nil || r.Slack.Posted == 0 || r.Slack.Posted != r.Slack.Messages {
		t.Errorf("run key / slack = %s", out.body)
	}
	posts := e.slack.Posts()
	if len(posts) != r.Slack.Posted {
		t.Fatalf("slack accepted %d posts, result says %d", len(posts), r.Slack.Posted)
	}
	all := ""
	for _, p := range posts {
		all += p.Text + string(p.Blocks)
		if msg := slackfake.CheckMessage(p.Text, p.Blocks); msg != "" {
			t.Errorf("message over Slack's limits: %s", msg)
		}
	}
	for _, want := range []string{"branch-cn-hangzhou-0", "branch-cn-shanghai-1", "vco-cn-shanghai-00001", "psk-reused"} {
		if !strings.Contains(all, want) {
			t.Errorf("Slack message does not name %s", want)
		}
	}
	if e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != 1 {
		t.Errorf("calls = %v", e.vpc.Log())
	}
	// Logs are JSON lines carrying the request id.
	if !e.waitLog(`"msg":"check done"`) || !strings.Contains(e.logs.String(), `"request_id":"req-0001"`) {
		t.Errorf("log lacks the structured summary:\n%s", e.logs.String())
	}
	e.assertNoSecrets(t, out)

	// FC retries the same timer event: what went out is not posted again.
	again := decodeResult(t, e.rt.invoke(t, timerEvent, e.creds, 60*time.Second))
	if again.Slack == nil || again.Slack.Posted != 0 || again.Slack.Skipped != r.Slack.Messages || len(e.slack.Posts()) != len(posts) {
		t.Errorf("a retried event posted again: %+v, %d posts", again.Slack, len(e.slack.Posts()))
	}
}

func TestFunctionDryRunAndBadPayload(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, nil)
	e.vpc.Generate("cn-hangzhou", 2, weakConn)

	r := decodeResult(t, e.rt.invoke(t, `{"payload": "{\"dry_run\": true, \"regions\": [\"cn-hangzhou\"]}"}`, e.creds, 30*time.Second))
	if !r.DryRun || r.Summary.Findings == 0 || r.Slack != nil || len(e.slack.Requests()) != 0 {
		t.Errorf("dry run posted or found nothing: %+v, %d requests", r, len(e.slack.Requests()))
	}
	if r.Summary.Connections != 2 || len(r.Summary.RegionsScanned) != 1 {
		t.Errorf("payload regions not used: %+v", r.Summary)
	}

	for _, body := range []string{`{"payload": "{\"region\": \"cn-hangzhou\"}"}`, `{"payload": "not json"}`, `{"payload": {"dry_run": "yes"}}`} {
		out := e.rt.invoke(t, body, e.creds, 30*time.Second)
		if !out.failed || !strings.Contains(string(out.body), "event payload") {
			t.Errorf("%s: outcome %v %s", body, out.failed, out.body)
		}
	}
	if n := len(e.slack.Requests()); n != 0 {
		t.Errorf("a bad payload posted %d messages", n)
	}
}

func TestFunctionFailuresAreLoud(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	t.Run("slack down", func(t *testing.T) {
		t.Parallel() // each its own function and fakes
		e := startFunction(t, nil)
		e.vpc.Generate("cn-hangzhou", 1, weakConn)
		fails := make([]slackfake.Failure, 20)
		for i := range fails {
			fails[i] = slackfake.Failure{Status: http.StatusServiceUnavailable}
		}
		e.slack.FailNext(fails...)
		// A short deadline: the notifier retries the 503 (after 1s) and
		// gives up when its next wait (2s) would pass the deadline, as it
		// would after 1s, 2s and 4s under a longer one.
		out := e.rt.invoke(t, timerEvent, e.creds, 3*time.Second)
		if !out.failed || !strings.Contains(string(out.body), "notify") {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
		if n := len(e.slack.Requests()); n < 2 {
			t.Errorf("Slack saw %d requests, want the 503 retried", n)
		}
		e.assertNoSecrets(t, out)
	})
	t.Run("wrong credentials", func(t *testing.T) {
		t.Parallel() // each its own function and fakes
		e := startFunction(t, nil)
		e.vpc.Generate("cn-hangzhou", 1, weakConn)
		bad := e.creds
		bad.AccessKeySecret = "CANARY-FC-SECRET-5d1e8a-wrong"
		out := e.rt.invoke(t, timerEvent, bad, 30*time.Second)
		if !out.failed || !strings.Contains(string(out.body), "no region could be scanned") {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
		if len(e.slack.Posts()) == 0 {
			t.Error("a checker that scanned nothing must say so in Slack")
		}
		e.assertNoSecrets(t, out)
	})
	t.Run("policies do not load", func(t *testing.T) {
		t.Parallel() // each its own function and fakes
		e := startFunction(t, map[string]string{"VPNCHECK_POLICY_DIR": "/nonexistent/policies"})
		out := e.rt.invoke(t, timerEvent, e.creds, 30*time.Second)
		if !out.failed || !strings.Contains(string(out.body), "policy directory") {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
		if len(e.slack.Posts()) != 1 || e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != 0 {
			t.Errorf("want one failure notice and no API call; posts %d", len(e.slack.Posts()))
		}
	})
}

func TestFunctionWithoutSlackFailsLoudly(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, map[string]string{"SLACK_WEBHOOK_URL": "", "VPNCHECK_REGIONS": "cn-hangzhou"})
	e.vpc.Generate("cn-hangzhou", 2, weakConn)
	out := e.rt.invoke(t, timerEvent, e.creds, 30*time.Second)
	if !out.failed || !strings.Contains(string(out.body), "slack is not configured") {
		t.Errorf("outcome %v %s", out.failed, out.body)
	}
	if !e.waitLog(`"msg":"check done"`) {
		t.Error("the check's summary is not in the log")
	}
	// A dry run asks for no delivery: it succeeds.
	r := decodeResult(t, e.rt.invoke(t, `{"payload": {"dry_run": true}}`, e.creds, 30*time.Second))
	if r.Summary.Findings == 0 {
		t.Errorf("dry run = %+v", r)
	}
}

func TestFunctionLargeRun(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, map[string]string{"VPNCHECK_REGIONS": "cn-hangzhou"})
	e.vpc.Generate("cn-hangzhou", 120, weakConn)
	r := decodeResult(t, e.rt.invoke(t, timerEvent, e.creds, 60*time.Second))
	if r.Summary.Findings < 500 {
		t.Fatalf("want at least 500 findings, got %d", r.Summary.Findings)
	}
	posts := e.slack.Posts()
	if len(posts) == 0 || len(posts) != r.Slack.Posted {
		t.Fatalf("posts %d, result %+v", len(posts), r.Slack)
	}
	for i, p := range posts {
		if msg := slackfake.CheckMessage(p.Text, p.Blocks); msg != "" {
			t.Errorf("message %d over Slack's limits: %s", i, msg)
		}
	}
}
