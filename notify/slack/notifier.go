package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vpncheck/vpncheck/notify"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	slackgo "github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Config says where messages go: an incoming webhook, or a bot token and
// channel (chat.postMessage, the details in the summary's thread).
type Config struct {
	WebhookURL string
	Token      string
	Channel    string
	// APIURL is the Web API base; slackgo.APIURL (https://slackgo.com/api/) if
	// empty. A trailing slash is added when missing.
	APIURL string
	// AllClear posts a short message for a run with no findings and no
	// errors; by default such a run posts nothing.
	AllClear bool
	// NoHistory turns off the bot's look into the channel's recent history
	// for messages a previous attempt of the same run already posted.
	NoHistory bool
	// MaxMessages is the message budget of one report
	// (VPNCHECK_SLACK_MAX_MESSAGES): every message counts, and with a bot
	// token the file with the complete report takes the last place when
	// the messages cannot hold everything. 0 means DefaultMaxMessages.
	MaxMessages int
	// HTTPClient is used for every call; a client with a 30 s timeout if nil.
	HTTPClient *http.Client
}

// Notifier delivers reports to Slack. Build one per process (one per
// Function Compute instance), not per invocation: it remembers which
// messages of which run it delivered, so that a retried invocation of the
// same timer event does not post them again.
type Notifier struct {
	cfg    Config
	api    *slackgo.Client // nil with a webhook
	client *http.Client
	creds  []string
	ledger *ledger

	// Retry policy: attempts per message, first 5xx backoff, longest wait.
	maxAttempts int
	backoff     time.Duration
	maxWait     time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
	now         func() time.Time

	historyDenied atomic.Bool
}

// ErrNotConfigured is returned by New when neither a webhook nor a bot
// token and channel is given.
var ErrNotConfigured = errors.New("slack is not configured: set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and SLACK_CHANNEL")

// New checks the configuration and builds a notifier; it calls nothing.
func New(cfg Config) (*Notifier, error) {
	cfg.WebhookURL = strings.TrimSpace(cfg.WebhookURL)
	cfg.Token = strings.TrimSpace(cfg.Token)
	cfg.Channel = strings.TrimSpace(cfg.Channel)
	switch {
	case cfg.WebhookURL != "" && cfg.Token != "":
		return nil, errors.New("configure slack: both a webhook URL and a bot token are set; use one")
	case cfg.Token != "" && cfg.Channel == "":
		return nil, errors.New("configure slack: a bot token needs a channel (SLACK_CHANNEL)")
	case cfg.WebhookURL == "" && cfg.Token == "":
		return nil, ErrNotConfigured
	case cfg.WebhookURL != "" && !strings.HasPrefix(cfg.WebhookURL, "https://") && !strings.HasPrefix(cfg.WebhookURL, "http://"):
		// The URL is a secret: never quote it.
		return nil, errors.New("configure slack: the webhook URL is not an http(s) URL")
	case cfg.MaxMessages < 0:
		return nil, fmt.Errorf("configure slack: the message budget %d is negative", cfg.MaxMessages)
	}
	n := &Notifier{
		cfg:         cfg,
		creds:       notify.CredentialForms(cfg.WebhookURL, cfg.Token),
		ledger:      newLedger(64),
		maxAttempts: 5,
		backoff:     time.Second,
		maxWait:     60 * time.Second,
		sleep:       sleepCtx,
		now:         time.Now,
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Second}
	}
	c := *base
	c.Transport = reasonTransport{base: base.Transport}
	n.client = &c
	if cfg.Token != "" {
		api := cfg.APIURL
		if api == "" {
			api = slackgo.APIURL
		}
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		n.api = slackgo.New(cfg.Token, slackgo.OptionAPIURL(api), slackgo.OptionHTTPClient(n.client))
	}
	return n, nil
}

// Style is how this notifier lays out a report: Thread with a bot token,
// Channel with a webhook.
func (n *Notifier) Style() Style {
	if n.api != nil {
		return Thread
	}
	return Channel
}

// NotifyReport posts a report's news: nothing for a run without news
// (unless AllClear: then one short message), else the summary, details and
// digest within the message budget, and with a bot token the complete
// report as a file when they cannot hold everything. It fails if a part
// still cannot be delivered after retries within ctx's deadline; parts
// delivered before the failure are recorded (run.OnPosted, or the
// notifier's memory) and skipped when the same run is retried.
func (n *Notifier) NotifyReport(ctx context.Context, run notify.Run, rep *report.Report) (notify.Delivery, error) {
	g := notify.NewGuard(run.Scrubber, n.creds)
	rep = g.Report(rep)
	meta := n.meta(g, run)
	r, kind := Render(rep, meta, n.Style()), kindReport
	if len(r.Messages) == 0 {
		if !n.cfg.AllClear {
			return notify.Delivery{}, nil
		}
		r, kind = Rendering{Messages: renderQuiet(rep, meta)}, kindAllClear
	}
	return n.deliver(ctx, g, run, meta.RunKey, kind, r)
}

// NotifyFailure posts that the check could not run, with a one-line reason.
func (n *Notifier) NotifyFailure(ctx context.Context, run notify.Run, reason string) (notify.Delivery, error) {
	g := notify.NewGuard(run.Scrubber, n.creds)
	meta := n.meta(g, run)
	return n.deliver(ctx, g, run, meta.RunKey, kindFailure, Rendering{Messages: renderFailure(g.Scrub(reason), meta)})
}

func (n *Notifier) meta(g notify.Guard, run notify.Run) Meta {
	return Meta{RunKey: g.Scrub(run.Key), AccountID: g.Scrub(run.AccountID), Now: run.At,
		MaxMessages: n.cfg.MaxMessages, Upload: n.api != nil}
}

// Duplicate protection, what is and is not guaranteed:
//
//   - A run whose caller keeps the record (notify.Run.Delivered and
//     OnPosted, from a create-only state store) posts each part at most once
//     after Slack acknowledged it, across instances: acknowledged parts are
//     skipped, and the next part is sent only after OnPosted recorded the
//     last one. The parts are the messages in order, then the file.
//   - Otherwise, within one process (one Function Compute instance), a part
//     of a run key is posted at most once after Slack acknowledged it: a
//     retry of the same run skips the acknowledged parts and posts the rest
//     (with a bot, in the original summary's thread). The memory holds the
//     last 64 run keys.
//   - Otherwise, across instances (a retry landing on a fresh instance), a
//     bot token with channels:history (groups:history for a private
//     channel) finds the run's messages by their metadata in the channel's
//     last 48 hours and skips them likewise (a file is not found this way).
//     Without that scope, or with a webhook, a retry on another instance
//     posts again: duplicates are possible there.
//   - A part Slack received but whose acknowledgement was lost (a timeout,
//     a 5xx after posting) may be posted twice.
//   - Parts are matched by their position in the rendering: a retry must
//     render the same report with the same notify.Run.At.
//   - Two invocations of one run key running at the same time are not
//     serialised here (the state store's claims do that).
func (n *Notifier) deliver(ctx context.Context, g notify.Guard, run notify.Run, key string, kind msgKind, r Rendering) (notify.Delivery, error) {
	dl := &delivery{n: n, g: g, run: run, key: key, kind: kind, d: notify.Delivery{Messages: len(r.Messages)}}
	dl.managed = run.Delivered != nil || run.OnPosted != nil
	dl.rec = record{parts: map[int]string{}}
	if dl.managed {
		for i, ts := range run.Delivered {
			dl.rec.parts[i] = ts
		}
	} else {
		dl.rec = n.ledger.load(key, kind)
		if key != "" && n.api != nil && len(dl.rec.parts) == 0 {
			dl.d.History = n.lookUp(ctx, key, kind, &dl.rec)
		}
	}
	dl.threadTS = dl.rec.parts[0]
	if err := dl.messages(ctx, r.Messages); err != nil {
		return dl.d, err
	}
	if r.File == nil {
		return dl.d, nil
	}
	err := dl.file(ctx, *r.File, len(r.Messages))
	return dl.d, err
}

// delivery is one rendering being delivered: the parts already
// acknowledged (rec), the thread the later parts go to, and what was done
// so far (d).
type delivery struct {
	n        *Notifier
	g        notify.Guard
	run      notify.Run
	key      string
	kind     msgKind
	managed  bool // the caller records the parts (notify.Run.Delivered, OnPosted)
	rec      record
	threadTS string
	d        notify.Delivery
}

// acknowledged records that Slack acknowledged a part, where the run's
// parts are recorded.
func (dl *delivery) acknowledged(part int, id string) error {
	if dl.managed {
		if dl.run.OnPosted == nil {
			return nil
		}
		if err := dl.run.OnPosted(part, id); err != nil {
			return fmt.Errorf("record slack part %d: %w", part+1, err)
		}
		return nil
	}
	if dl.key != "" {
		dl.n.ledger.mark(dl.key, dl.kind, part, id)
	}
	return nil
}

// messages posts the messages not acknowledged before, in order, each
// guarded first; the first one's timestamp is the thread of the others.
func (dl *delivery) messages(ctx context.Context, msgs []Message) error {
	n, g := dl.n, dl.g
	for i, m := range msgs {
		if _, done := dl.rec.parts[i]; done {
			dl.d.Skipped++
			continue
		}
		safe, err := guardMessage(g, m)
		if err != nil {
			return fmt.Errorf("guard slack message %d of %d: %w", i+1, len(msgs), err)
		}
		if raw, err := json.Marshal(safe.Blocks); err != nil || !g.Clean(string(raw)) {
			return fmt.Errorf("guard slack message %d of %d: a secret survived scrubbing; not sent", i+1, len(msgs))
		}
		thread := ""
		if n.api != nil && i > 0 {
			thread = dl.threadTS
		}
		ts, err := n.post(ctx, safe, thread, metadata(dl.key, dl.kind, i, len(msgs)))
		if err != nil {
			return g.Err(fmt.Sprintf("post slack message %d of %d", i+1, len(msgs)), err)
		}
		dl.d.Posted++
		if i == 0 {
			dl.threadTS = ts
		}
		if err := dl.acknowledged(i, ts); err != nil {
			return err
		}
	}
	return nil
}

// file uploads the complete report as the part after the messages, unless
// acknowledged before. An upload Slack refuses for good is replaced by a
// message that says so.
func (dl *delivery) file(ctx context.Context, f File, part int) error {
	n, g := dl.n, dl.g
	if _, done := dl.rec.parts[part]; done {
		dl.d.Skipped++
		return nil
	}
	id, why, err := n.attach(ctx, g, f, dl.threadTS)
	if err != nil {
		return g.Err("upload the complete report to slack", err)
	}
	if why != "" {
		// Refused for good (a missing scope, uploads disabled): the file's
		// place goes to a message that says so and where the report is.
		dl.d.Unattached = why
		note := renderUnattached(why, Meta{RunKey: dl.key})
		safe, err := guardMessage(g, note)
		if err != nil {
			return fmt.Errorf("guard slack message %d: %w", part+1, err)
		}
		if id, err = n.post(ctx, safe, dl.threadTS, metadata(dl.key, dl.kind, part, part+1)); err != nil {
			return g.Err(fmt.Sprintf("post slack message %d", part+1), err)
		}
		dl.d.Posted++
	} else {
		dl.d.Files++
	}
	return dl.acknowledged(part, id)
}

const metadataEvent = "vpncheck_run"

func metadata(key string, kind msgKind, part, parts int) *slackgo.SlackMetadata {
	if key == "" {
		return nil
	}
	return &slackgo.SlackMetadata{EventType: metadataEvent, EventPayload: map[string]any{
		"run_key": key, "kind": string(kind), "part": part, "parts": parts,
	}}
}

// post sends one message, retrying a 429 after its Retry-After and a 5xx or
// transport error with exponential backoff, within ctx's deadline.
func (n *Notifier) post(ctx context.Context, m Message, thread string, meta *slackgo.SlackMetadata) (string, error) {
	return n.retry(ctx, func() (string, error) { return n.postOnce(ctx, m, thread, meta) })
}

// retry calls once until it succeeds or fails for good, retrying a 429
// after its Retry-After and a 5xx or transport error with exponential
// backoff, within ctx's deadline.
func (n *Notifier) retry(ctx context.Context, once func() (string, error)) (string, error) {
	for attempt := 1; ; attempt++ {
		ts, err := once()
		if err == nil {
			return ts, nil
		}
		wait, retry := n.retryable(err, attempt)
		if !retry {
			return "", err
		}
		if attempt >= n.maxAttempts {
			return "", fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		if dl, ok := ctx.Deadline(); ok && n.now().Add(wait).After(dl) {
			return "", fmt.Errorf("a retry in %s would pass the deadline: %w", wait, err)
		}
		if serr := n.sleep(ctx, wait); serr != nil {
			return "", fmt.Errorf("wait to retry: %w (last error: %s)", serr, err)
		}
	}
}

func (n *Notifier) postOnce(ctx context.Context, m Message, thread string, meta *slackgo.SlackMetadata) (string, error) {
	if n.api == nil {
		var reason string
		ctx = context.WithValue(ctx, reasonKey{}, &reason)
		err := slackgo.PostWebhookCustomHTTPContext(ctx, n.cfg.WebhookURL, n.client, &slackgo.WebhookMessage{
			Text: m.Text, Blocks: &slackgo.Blocks{BlockSet: m.Blocks},
		})
		return "", webhookFailure(err, reason)
	}
	opts := []slackgo.MsgOption{
		slackgo.MsgOptionText(m.Text, false),
		slackgo.MsgOptionBlocks(m.Blocks...),
		slackgo.MsgOptionDisableLinkUnfurl(),
	}
	if thread != "" {
		opts = append(opts, slackgo.MsgOptionTS(thread))
	}
	if meta != nil {
		opts = append(opts, slackgo.MsgOptionMetadata(*meta))
	}
	_, ts, err := n.api.PostMessageContext(ctx, n.cfg.Channel, opts...)
	return ts, err
}

// retryable says whether err is worth another attempt, and after how long.
func (n *Notifier) retryable(err error, attempt int) (time.Duration, bool) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	backoff := min(n.backoff<<(attempt-1), n.maxWait)
	var rl *slackgo.RateLimitedError
	if errors.As(err, &rl) {
		return min(max(rl.RetryAfter, n.backoff), n.maxWait), true
	}
	var sc slackgo.StatusCodeError
	if errors.As(err, &sc) {
		return backoff, sc.Code >= 500
	}
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited":
			return backoff, true
		}
		return 0, false
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection") {
		return backoff, true // transport trouble: connection refused, reset, timeout
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lookUp finds what a previous attempt of this run posted, from the
// channel's recent history; it fills rec and says what it found. A failure
// here never stops delivery.
func (n *Notifier) lookUp(ctx context.Context, key string, kind msgKind, rec *record) string {
	if n.cfg.NoHistory {
		return ""
	}
	if n.historyDenied.Load() {
		return "not permitted"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hist, err := n.api.GetConversationHistoryContext(ctx, &slackgo.GetConversationHistoryParameters{
		ChannelID: n.cfg.Channel, Limit: 100, IncludeAllMetadata: true,
		Oldest: strconv.FormatInt(n.now().Add(-48*time.Hour).Unix(), 10),
	})
	if err != nil {
		return n.historyFailed(err)
	}
	parent := ""
	for _, m := range hist.Messages {
		if part, ok := ours(m.Msg.Metadata, key, kind); ok && part == 0 {
			parent = m.Timestamp
			break
		}
	}
	if parent == "" {
		return "checked"
	}
	rec.parts[0] = parent
	replies, _, _, err := n.api.GetConversationRepliesContext(ctx, &slackgo.GetConversationRepliesParameters{
		ChannelID: n.cfg.Channel, Timestamp: parent, Limit: 200, IncludeAllMetadata: true,
	})
	if err != nil {
		return "found; " + n.historyFailed(err)
	}
	for _, m := range replies {
		if part, ok := ours(m.Msg.Metadata, key, kind); ok && m.Timestamp != parent {
			rec.parts[part] = m.Timestamp
		}
	}
	for part, ts := range rec.parts {
		n.ledger.mark(key, kind, part, ts)
	}
	return "found"
}

func (n *Notifier) historyFailed(err error) string {
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "missing_scope", "not_in_channel", "not_allowed_token_type", "no_permission":
			n.historyDenied.Store(true)
		}
		return "not possible: " + se.Err
	}
	return "not possible"
}

// ours reads a message's metadata: whether it is part of this run and kind.
func ours(m slackgo.SlackMetadata, key string, kind msgKind) (int, bool) {
	if m.EventType != metadataEvent {
		return 0, false
	}
	k, _ := m.EventPayload["run_key"].(string)
	kd, _ := m.EventPayload["kind"].(string)
	part, ok := m.EventPayload["part"].(float64)
	if k != key || kd != string(kind) || !ok || part < 0 || part > 1000 {
		return 0, false
	}
	return int(part), true
}

// webhookAnswers say what an incoming webhook's refusals mean, in words
// an operator can act on (Slack, "Handling errors" of incoming webhooks).
// These answers are final: the URL, its app or its channel is gone or
// wrong, and no retry changes that.
var webhookAnswers = map[string]struct{ what, fix string }{
	"no_service":                        {"the Slack webhook URL is wrong or was revoked", "set SLACK_WEBHOOK_URL to the URL of an active incoming webhook"},
	"no_service_id":                     {"the Slack webhook URL is wrong (it names no webhook)", "set SLACK_WEBHOOK_URL to the URL Slack shows for the webhook"},
	"no_team":                           {"the Slack webhook URL is wrong (no such workspace)", "set SLACK_WEBHOOK_URL to the URL Slack shows for the webhook"},
	"no_active_hooks":                   {"the Slack webhook was disabled", "turn it on again, or set SLACK_WEBHOOK_URL to an active one"},
	"invalid_token":                     {"the Slack webhook URL was revoked or its token is wrong", "set SLACK_WEBHOOK_URL to the URL of an active incoming webhook"},
	"team_disabled":                     {"the Slack workspace of the webhook is disabled", "use a webhook of an active workspace"},
	"channel_not_found":                 {"the Slack webhook's channel no longer exists", "create a webhook for an existing channel"},
	"channel_is_archived":               {"the Slack webhook's channel is archived", "unarchive it, or create a webhook for another channel"},
	"action_prohibited":                 {"a Slack admin restricted posting to the webhook's channel", "ask the admin, or use another channel"},
	"posting_to_general_channel_denied": {"only admins may post to the webhook's channel", "create a webhook for another channel"},
	"user_not_found":                    {"the Slack webhook's channel or user no longer exists", "create a new webhook"},
}

// webhookFailure is err with Slack's reason from the answer's body. A
// refusal that means the URL or its channel cannot be used is said in those
// words instead of slack-go's "slack server error: 404 Not Found" (a
// revoked webhook is not a server error); the status stays in err's chain,
// so it is still not retried.
func webhookFailure(err error, reason string) error {
	if err == nil || reason == "" {
		return err
	}
	var sc slackgo.StatusCodeError
	if errors.As(err, &sc) && sc.Code < 500 {
		if a, ok := webhookAnswers[reason]; ok {
			return &webhookError{status: sc.Code, reason: reason, what: a.what, fix: a.fix, err: err}
		}
	}
	return fmt.Errorf("%w (%s)", err, reason)
}

// webhookError is a final refusal of the webhook, in words.
type webhookError struct {
	status            int
	reason, what, fix string
	err               error
}

func (e *webhookError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s): %s", e.what, e.status, e.reason, e.fix)
}

func (e *webhookError) Unwrap() error { return e.err }

// reasonTransport keeps the first bytes of an error response's body, which
// slack-go's webhook call discards, so an error can say "invalid_blocks".
type reasonTransport struct{ base http.RoundTripper }

type reasonKey struct{}

func (t reasonTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	dst, _ := r.Context().Value(reasonKey{}).(*string)
	if dst == nil {
		return resp, nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 120))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	s := strings.TrimSpace(string(head))
	if s != "" && !strings.HasPrefix(s, "<") && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		*dst = s
	}
	return resp, nil
}
