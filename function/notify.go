package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/notify"
)

// envSlackAllClear asks for a short "all clear" message after a run with no
// findings and no errors; by default such a run posts nothing.
const envSlackAllClear = "VPNCHECK_SLACK_ALL_CLEAR"

// notifierFromEnv builds the Slack notifier from SLACK_WEBHOOK_URL, or
// SLACK_BOT_TOKEN with SLACK_CHANNEL (SLACK_API_URL overrides the Web API
// base, for tests), and VPNCHECK_SLACK_ALL_CLEAR. Neither configured is
// notify.ErrNotConfigured. In Function Compute build it once per instance:
// it remembers what each run key delivered, so a retried timer event does
// not post the same messages again.
func notifierFromEnv(getenv func(string) string) (*notify.Notifier, error) {
	cfg := notify.Config{
		WebhookURL: getenv("SLACK_WEBHOOK_URL"),
		Token:      getenv("SLACK_BOT_TOKEN"),
		Channel:    getenv("SLACK_CHANNEL"),
		APIURL:     strings.TrimSpace(getenv("SLACK_API_URL")),
	}
	if v := strings.TrimSpace(getenv(envSlackAllClear)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not true or false", envSlackAllClear, v)
		}
		cfg.AllClear = b
	}
	return notify.New(cfg)
}

// notifyCLI posts a command-line run's report (check --notify). A CLI run
// is one-off: it has no run key, so nothing is held back as a duplicate.
func notifyCLI(ctx context.Context, n *notify.Notifier, res *checker.Result) error {
	if _, err := n.NotifyReport(ctx, notify.Run{Scrubber: res.Secrets}, res.Report); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}
