package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
	"github.com/vpncheck/vpncheck/policies"
)

// sleeps records the waits a notifier asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func webhookNotifier(t *testing.T, fake *slackfake.Server, cfg Config) (*Notifier, *sleeps) {
	t.Helper()
	cfg.WebhookURL = fake.WebhookURL()
	return build(t, cfg)
}

func botNotifier(t *testing.T, fake *slackfake.Server, cfg Config) (*Notifier, *sleeps) {
	t.Helper()
	cfg.Token, cfg.Channel, cfg.APIURL = fake.Token(), fake.Channel(), strings.TrimSuffix(fake.APIURL(), "/")
	return build(t, cfg)
}

func build(t *testing.T, cfg Config) (*Notifier, *sleeps) {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	n.sleep = s.sleep
	return n, s
}

func newFake(t *testing.T, opt slackfake.Options) *slackfake.Server {
	t.Helper()
	f := slackfake.New(opt)
	t.Cleanup(f.Close)
	return f
}

func TestNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"nothing", Config{}, false},
		{"webhook", Config{WebhookURL: "https://hooks.slackgo.com/services/T/B/X"}, true},
		{"bot", Config{Token: "xoxb-1", Channel: "C1"}, true},
		{"bot without channel", Config{Token: "xoxb-1"}, false},
		{"both", Config{Token: "xoxb-1", Channel: "C1", WebhookURL: "https://hooks.slackgo.com/services/T/B/X"}, false},
		{"not a url", Config{WebhookURL: "hooks.slackgo.com/services/T/B/SECRETPATH"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETPATH") {
				t.Errorf("the error quotes the webhook URL: %v", err)
			}
		})
	}
	if _, err := New(Config{}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("an empty config: %v, want ErrNotConfigured", err)
	}
}

func TestWebhookRateLimitedOnceThenPosted(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	fake.FailNext(slackfake.Failure{Status: 429, RetryAfter: 7})
	n, s := webhookNotifier(t, fake, Config{})
	d, err := n.NotifyReport(context.Background(), notify.Run{Key: "k"}, sampleFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if d.Posted != 1 || len(fake.Posts()) != 1 {
		t.Errorf("posted %d (fake has %d), want 1", d.Posted, len(fake.Posts()))
	}
	if got := s.all(); len(got) != 1 || got[0] != 7*time.Second {
		t.Errorf("waits %v, want the Retry-After of 7s once", got)
	}
}

func TestWebhookServerErrorThenPosted(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	fake.FailNext(slackfake.Failure{Status: 503}, slackfake.Failure{Status: 500})
	n, s := webhookNotifier(t, fake, Config{})
	if _, err := n.NotifyReport(context.Background(), notify.Run{}, sampleFixture(t)); err != nil {
		t.Fatal(err)
	}
	if got := s.all(); len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
		t.Errorf("waits %v, want backoff 1s, 2s", got)
	}
	if len(fake.Posts()) != 1 {
		t.Errorf("%d posts, want 1", len(fake.Posts()))
	}
}

func TestWebhookStillFailingIsAnError(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	for range 10 {
		fake.FailNext(slackfake.Failure{Status: 502})
	}
	n, s := webhookNotifier(t, fake, Config{})
	d, err := n.NotifyReport(context.Background(), notify.Run{Key: "k"}, sampleFixture(t))
	if err == nil {
		t.Fatal("no error after Slack kept failing")
	}
	if len(s.all()) != n.maxAttempts-1 || d.Posted != 0 {
		t.Errorf("waits %v, posted %d", s.all(), d.Posted)
	}
	if !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "message 1 of 1") {
		t.Errorf("error %q does not say what failed", err)
	}
	var de *notify.DeliveryError
	if !errors.As(err, &de) {
		t.Errorf("error %T is not a *notify.DeliveryError", err)
	}
}

func TestWebhookRejectedIsNotRetried(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	fake.FailNext(slackfake.Failure{Status: 400, Error: "invalid_blocks"})
	n, s := webhookNotifier(t, fake, Config{})
	_, err := n.NotifyReport(context.Background(), notify.Run{}, sampleFixture(t))
	if err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Fatalf("error %v, want Slack's reason invalid_blocks", err)
	}
	if len(s.all()) != 0 {
		t.Errorf("a 400 was retried: waits %v", s.all())
	}
}

// TestWebhookGoneSaysSo: Slack's answers for a webhook that is wrong,
// revoked or whose channel is archived name that, not a "server error",
// and are not retried.
func TestWebhookGoneSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(*slackfake.Server)
		want   string
	}{
		{"revoked", (*slackfake.Server).RevokeWebhook, "webhook URL is wrong or was revoked (HTTP 404 no_service)"},
		{"invalid token", func(f *slackfake.Server) {
			f.FailNext(slackfake.Failure{Status: 403, Error: "invalid_token"})
		}, "webhook URL was revoked or its token is wrong (HTTP 403 invalid_token)"},
		{"channel archived", func(f *slackfake.Server) {
			f.FailNext(slackfake.Failure{Status: 410, Error: "channel_is_archived"})
		}, "channel is archived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t, slackfake.Options{})
			tc.script(fake)
			n, s := webhookNotifier(t, fake, Config{})
			_, err := n.NotifyReport(context.Background(), notify.Run{}, sampleFixture(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "server error") || strings.Contains(err.Error(), fake.WebhookURL()) {
				t.Errorf("error %q calls it a server error or names the URL", err)
			}
			if len(s.all()) != 0 || len(fake.Requests()) != 1 {
				t.Errorf("retried: waits %v, %d requests", s.all(), len(fake.Requests()))
			}
		})
	}
}

func TestRetryAfterBeyondDeadlineFailsAtOnce(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	fake.FailNext(slackfake.Failure{Status: 429, RetryAfter: 50})
	n, s := webhookNotifier(t, fake, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := n.NotifyReport(ctx, notify.Run{}, sampleFixture(t))
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("error %v, want a deadline error", err)
	}
	if len(s.all()) != 0 {
		t.Errorf("waited %v past the deadline", s.all())
	}
}

func TestBotSummaryAndThread(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	n, _ := botNotifier(t, fake, Config{})
	d, err := n.NotifyReport(context.Background(), notify.Run{Key: "hourly@2026-05-01T10:00:00Z"}, sampleFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 2 || d.Posted != 2 || d.History != "checked" {
		t.Fatalf("posts %d, delivery %+v", len(posts), d)
	}
	if posts[0].ThreadTS != "" || posts[1].ThreadTS != posts[0].TS {
		t.Errorf("details not in the summary's thread: %q, %q (summary %q)", posts[0].ThreadTS, posts[1].ThreadTS, posts[0].TS)
	}
	var meta struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(posts[1].Metadata, &meta); err != nil || meta.EventPayload["run_key"] != "hourly@2026-05-01T10:00:00Z" || meta.EventPayload["part"] != 1.0 {
		t.Errorf("metadata %s (%v)", posts[1].Metadata, err)
	}
}

func TestCleanRunPostsNothingOrAllClear(t *testing.T) {
	fake := newFake(t, slackfake.Options{})
	clean := &report.Report{Summary: report.Summary{Connections: 3, Tunnels: 4, RegionsScan: []string{"cn-hangzhou"}}}
	n, _ := webhookNotifier(t, fake, Config{})
	if d, err := n.NotifyReport(context.Background(), notify.Run{Key: "a"}, clean); err != nil || d.Posted != 0 {
		t.Fatalf("clean run: %+v, %v", d, err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("a clean run reached Slack")
	}
	n, _ = webhookNotifier(t, fake, Config{AllClear: true})
	if d, err := n.NotifyReport(context.Background(), notify.Run{Key: "a"}, clean); err != nil || d.Posted != 1 {
		t.Fatalf("all clear: %+v, %v", d, err)
	}
	if p := fake.Posts(); len(p) != 1 || !strings.Contains(p[0].Text, "all clear") {
		t.Errorf("posts %+v", p)
	}
}

func TestRetriedRunPostsNothingTwice(t *testing.T) {
	rep := bigReport(500)
	t.Run("webhook, same instance", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{})
		n, _ := webhookNotifier(t, fake, Config{})
		fake.FailNext(slackfake.Pass, slackfake.Failure{Status: 500}, slackfake.Failure{Status: 500},
			slackfake.Failure{Status: 500}, slackfake.Failure{Status: 500}, slackfake.Failure{Status: 500})
		run := notify.Run{Key: "hourly@2026-05-01T10:00:00Z"}
		d1, err := n.NotifyReport(context.Background(), run, rep)
		if err == nil || d1.Posted != 1 {
			t.Fatalf("first attempt: %+v, %v; want one message out and an error", d1, err)
		}
		d2, err := n.NotifyReport(context.Background(), run, rep)
		if err != nil || d2.Skipped != 1 || d2.Posted != d2.Messages-1 {
			t.Fatalf("retry: %+v, %v", d2, err)
		}
		d3, err := n.NotifyReport(context.Background(), run, rep)
		if err != nil || d3.Posted != 0 {
			t.Fatalf("second retry posted again: %+v, %v", d3, err)
		}
		assertNoDuplicates(t, fake.Posts(), d2.Messages)
		// Another run key is another run.
		if d, _ := n.NotifyReport(context.Background(), notify.Run{Key: "hourly@2026-05-01T11:00:00Z"}, rep); d.Posted != d.Messages {
			t.Errorf("the next run was held back: %+v", d)
		}
	})
	t.Run("bot, fresh instance, history", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{})
		first, _ := botNotifier(t, fake, Config{})
		fake.FailNext(slackfake.Pass, slackfake.Pass, slackfake.Failure{Error: "fatal_error", Status: 200},
			slackfake.Failure{Status: 503}, slackfake.Failure{Status: 503}, slackfake.Failure{Status: 503}, slackfake.Failure{Status: 503})
		run := notify.Run{Key: "hourly@2026-05-01T10:00:00Z"}
		if d, err := first.NotifyReport(context.Background(), run, rep); err == nil || d.Posted != 2 {
			t.Fatalf("first attempt: %+v, %v", d, err)
		}
		second, _ := botNotifier(t, fake, Config{}) // memory lost: a new instance
		d, err := second.NotifyReport(context.Background(), run, rep)
		if err != nil || d.Skipped != 2 || d.History != "found" {
			t.Fatalf("retry on a new instance: %+v, %v", d, err)
		}
		posts := fake.Posts()
		assertNoDuplicates(t, posts, d.Messages+d.Files) // the file share is a message too
		for _, p := range posts[1:] {
			if p.ThreadTS != posts[0].TS {
				t.Errorf("a detail went outside the original thread: %q", p.ThreadTS)
			}
		}
	})
	t.Run("bot without history scope", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{NoHistory: true})
		n, _ := botNotifier(t, fake, Config{})
		d, err := n.NotifyReport(context.Background(), notify.Run{Key: "k"}, sampleFixture(t))
		if err != nil || d.History != "not possible: missing_scope" || d.Posted != 2 {
			t.Fatalf("%+v, %v", d, err)
		}
		d, err = n.NotifyReport(context.Background(), notify.Run{Key: "k"}, sampleFixture(t))
		if err != nil || d.Posted != 0 || d.Skipped != 2 {
			t.Fatalf("same instance retry: %+v, %v", d, err)
		}
	})
}

func assertNoDuplicates(t *testing.T, posts []slackfake.Post, want int) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range posts {
		k := string(p.Blocks)
		if seen[k] {
			t.Errorf("a message was posted twice: %.120s", p.Text)
		}
		seen[k] = true
	}
	if len(posts) != want {
		t.Errorf("%d messages in the channel, want %d", len(posts), want)
	}
}

// canaryResult runs the real pipeline on an inventory whose pre-shared key
// and BGP key are canaries, then plants them (and the Slack credentials) in
// the findings' text, as a buggy rule might, to prove the last guard.
func canaryResult(t *testing.T, extra ...string) (*checker.Result, []string) {
	t.Helper()
	const psk, bgp = "CanaryPsk9f3e<&>Zq", "CanaryBgp7d1aXw"
	raw, err := os.ReadFile("../../testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var inv map[string]any
	if err := json.Unmarshal(raw, &inv); err != nil {
		t.Fatal(err)
	}
	for _, c := range inv["VpnConnections"].(map[string]any)["VpnConnection"].([]any) {
		c := c.(map[string]any)
		c["IkeConfig"].(map[string]any)["Psk"] = psk
		c["VpnBgpConfig"].(map[string]any)["AuthKey"] = bgp
	}
	path := filepath.Join(t.TempDir(), "inv.json")
	b, _ := json.Marshal(inv)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	eng, err := checker.NewEngine(ctx, checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	ci := inventory.New()
	if err := ci.ReadFile(path, "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(ctx, ci, checker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Secrets.Len() < 2 {
		t.Fatalf("the run saw %d secrets, want the two canaries", res.Secrets.Len())
	}
	canaries := append([]string{psk, bgp}, extra...)
	leak := strings.Join(canaries, " ")
	for i := range res.Report.Findings {
		f := &res.Report.Findings[i]
		f.Message += " leak: " + leak
		f.ConnectionName += leak
		f.Title = leak + f.Title
		f.Remediation += leak
		f.TunnelID = leak
	}
	res.Report.Errors = append(res.Report.Errors, report.ErrorEntry{Region: "cn-x", Code: "Leak", Message: leak, RequestID: leak})
	return res, canaries
}

// forms are the ways a canary could show in a request body.
func forms(s string) []string {
	j, _ := json.Marshal(s)
	return []string{s, strings.Trim(string(j), `"`), url.QueryEscape(s), strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)}
}

func assertNoCanary(t *testing.T, where, text string, canaries []string) {
	t.Helper()
	for _, c := range canaries {
		for _, f := range forms(c) {
			if strings.Contains(text, f) {
				t.Errorf("%s holds the canary %q: %.200s", where, c, text)
			}
		}
	}
}

func TestCanariesNeverLeave(t *testing.T) {
	const token = "xoxb-canary-token-5d2c"
	webhookFake := newFake(t, slackfake.Options{WebhookPath: "/services/T0CANARY/B0CANARY/canarywebhooksecret42"})
	botFake := newFake(t, slackfake.Options{Token: token})
	for _, tc := range []struct {
		name  string
		fake  *slackfake.Server
		n     func() *Notifier
		creds []string // the credentials this notifier holds
	}{
		{"webhook", webhookFake, func() *Notifier { n, _ := webhookNotifier(t, webhookFake, Config{}); return n },
			[]string{webhookFake.WebhookURL(), "/services/T0CANARY/B0CANARY/canarywebhooksecret42"}},
		{"bot", botFake, func() *Notifier { n, _ := botNotifier(t, botFake, Config{}); return n }, []string{token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, canaries := canaryResult(t, tc.creds...)
			n := tc.n()
			run := notify.Run{Key: "hourly@2026-05-01T10:00:00Z " + canaries[0], Scrubber: res.Secrets}
			if _, err := n.NotifyReport(context.Background(), run, res.Report); err != nil {
				t.Fatal(err)
			}
			if _, err := n.NotifyFailure(context.Background(), run, "load policies: "+strings.Join(canaries, " ")); err != nil {
				t.Fatal(err)
			}
			// Errors: Slack failing, and Slack unreachable.
			for range 10 {
				tc.fake.FailNext(slackfake.Failure{Status: 500})
			}
			_, err := n.NotifyReport(context.Background(), notify.Run{Key: "other", Scrubber: res.Secrets}, res.Report)
			if err == nil {
				t.Fatal("no error from a failing Slack")
			}
			assertNoCanary(t, "an error", err.Error(), canaries)
			if len(tc.fake.Posts()) == 0 {
				t.Fatal("nothing was posted")
			}
			for _, r := range tc.fake.Requests() {
				body := r.Body
				if tc.name == "bot" {
					// The token travels in the form, by Slack's protocol; nowhere else.
					v, _ := url.ParseQuery(body)
					v.Del("token")
					body = v.Encode()
				}
				assertNoCanary(t, "a request to "+r.Path, body, canaries)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		res, canaries := canaryResult(t)
		dead := slackfake.New(slackfake.Options{WebhookPath: "/services/T0CANARY/B0CANARY/canarywebhooksecret42"})
		dead.Close()
		n, _ := webhookNotifier(t, dead, Config{})
		n.maxAttempts = 2
		_, err := n.NotifyReport(context.Background(), notify.Run{Scrubber: res.Secrets}, res.Report)
		if err == nil {
			t.Fatal("no error from an unreachable Slack")
		}
		assertNoCanary(t, "the error", err.Error(), append(canaries, dead.WebhookURL()))
		t.Logf("error: %v", err)
	})
}

func TestLargeReportDeliveredWithinLimits(t *testing.T) {
	for _, bot := range []bool{false, true} {
		fake := newFake(t, slackfake.Options{})
		n, _ := webhookNotifier(t, fake, Config{})
		if bot {
			n, _ = botNotifier(t, fake, Config{})
		}
		d, err := n.NotifyReport(context.Background(), notify.Run{Key: "big"}, bigReport(500))
		if err != nil {
			t.Fatalf("bot=%v: %v", bot, err)
		}
		if d.Posted != d.Messages || len(fake.Posts()) != d.Messages+d.Files || len(fake.Posts()) > DefaultMaxMessages {
			t.Errorf("bot=%v: %+v, fake accepted %d", bot, d, len(fake.Posts()))
		}
	}
}

func BenchmarkRender500(b *testing.B) {
	rep := bigReport(500)
	for b.Loop() {
		Render(rep, Meta{RunKey: "k"}, Thread)
	}
}

// TestCanariesNeverLeaveInTheFile: the complete report uploaded as a file
// passes the same guard as the messages.
func TestCanariesNeverLeaveInTheFile(t *testing.T) {
	const token = "xoxb-canary-token-5d2c"
	fake := newFake(t, slackfake.Options{Token: token})
	res, canaries := canaryResult(t, token)
	for i, f := range bigReport(200).Findings {
		f.Message += " " + strings.Join(canaries, " ")
		f.ConnectionName = fmt.Sprintf("%s %d", canaries[i%len(canaries)], i)
		res.Report.Findings = append(res.Report.Findings, f)
	}
	n, _ := botNotifier(t, fake, Config{MaxMessages: 2})
	d, err := n.NotifyReport(context.Background(), notify.Run{Key: "k", Scrubber: res.Secrets}, res.Report)
	if err != nil || d.Files != 1 {
		t.Fatalf("%+v, %v", d, err)
	}
	files := fake.Files()
	if len(files) != 1 || !strings.Contains(string(files[0].Content), notify.Mask) {
		t.Fatalf("no file, or nothing masked in it")
	}
	assertNoCanary(t, "the file", string(files[0].Content), canaries)
	for _, r := range fake.Requests() {
		v, _ := url.ParseQuery(r.Body)
		v.Del("token")
		if strings.HasPrefix(r.Path, "/upload/") {
			assertNoCanary(t, "the upload", r.Body, canaries)
			continue
		}
		assertNoCanary(t, "a request to "+r.Path, v.Encode(), canaries)
	}
}
