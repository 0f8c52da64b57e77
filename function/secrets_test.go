package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/secrets"
	"github.com/vpncheck/vpncheck/checker/secrets/kmsfake"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

const pepperCanary = "CANARY-PEPPER-e41f0a"

// TestFunctionSlackFromKMS: with VPNCHECK_SLACK_SECRET the function reads
// the webhook from KMS with the invocation's credentials, once per instance,
// and posts; neither the webhook nor the pepper reaches the log or the
// result. A missing secret fails the invocation naming it, and the next
// invocation tries again.
func TestFunctionSlackFromKMS(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	kms := kmsfake.Start(acsfake.Credential{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret, SecurityToken: fcCreds.SecurityToken, Label: "function-role"})
	defer kms.Close()
	e := startFunction(t, map[string]string{
		"SLACK_WEBHOOK_URL":          "",
		"VPNCHECK_SLACK_SECRET":      "vpncheck/slack",
		"VPNCHECK_KEY_PEPPER_SECRET": "vpncheck/pepper",
		"VPNCHECK_KMS_ENDPOINT":      kms.URL,
		"VPNCHECK_REGIONS":           "cn-hangzhou",
	})
	e.vpc.Generate("cn-hangzhou", 2, weakConn)

	out := e.rt.invoke(t, timerEvent, e.creds, 30*time.Second)
	if !out.failed || !strings.Contains(string(out.body), "vpncheck/slack") || !strings.Contains(string(out.body), "Forbidden.ResourceNotFound") {
		t.Fatalf("missing secret: failed %v, %s", out.failed, out.body)
	}
	if len(e.slack.Posts()) != 0 {
		t.Error("posted without a destination")
	}

	kms.Put(kmsfake.Secret{Name: "vpncheck/slack", Data: `{"webhook_url": "` + e.slack.WebhookURL() + `"}`})
	kms.Put(kmsfake.Secret{Name: "vpncheck/pepper", Data: pepperCanary})
	for i := range 2 {
		out = e.rt.invoke(t, `{"triggerTime": "2026-11-25T1`+string(rune('0'+i))+`:05:00Z", "triggerName": "hourly", "payload": "{}"}`, e.creds, 30*time.Second)
		t.Logf("result: %s", out.body)
		r := decodeResult(t, out)
		if r.Slack == nil || r.Slack.Posted == 0 {
			t.Errorf("invocation %d: nothing posted: %s", i, out.body)
		}
		e.assertNoSecrets(t, out)
	}
	calls := map[string]int{}
	for _, c := range kms.Calls() {
		if c.Caller != "function-role" {
			t.Errorf("KMS call not signed with the invocation's credentials: %+v", c)
		}
		calls[c.SecretName]++
	}
	// One failed read, then one read of each secret for the instance.
	if calls["vpncheck/slack"] != 2 || calls["vpncheck/pepper"] != 1 {
		t.Errorf("KMS calls = %v, want the Slack secret twice (missing, then read) and the pepper once", calls)
	}
	if strings.Contains(e.logs.String(), pepperCanary) {
		t.Error("the log holds the pepper")
	}
}

// TestCLINotifyFromKMS: check --notify with VPNCHECK_SLACK_SECRET posts to
// the bot token's channel; a plain variable beside it is a usage error.
func TestCLINotifyFromKMS(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	kms := kmsfake.Start(acsfake.Credential{AccessKeyID: "LTAIdeployer", AccessKeySecret: "CANARY-AK-SECRET-71c2", Label: "cli"})
	defer kms.Close()
	slack := slackfake.New(slackfake.Options{})
	defer slack.Close()
	kms.Put(kmsfake.Secret{Name: "vpncheck/slack", Data: `{"bot_token": "` + slack.Token() + `", "channel": "` + slack.Channel() + `"}`})
	env := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIdeployer", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "CANARY-AK-SECRET-71c2",
		"ALIBABA_CLOUD_REGION_ID": "cn-hangzhou", "VPNCHECK_KMS_ENDPOINT": kms.URL,
		"VPNCHECK_SLACK_SECRET": "vpncheck/slack", "SLACK_API_URL": slack.APIURL(),
	}
	code, _, errs := cli(t, env, "check", "--inventory", "../testdata/sample.json", "--notify")
	if code != exitOK || len(slack.Posts()) == 0 {
		t.Fatalf("exit %d, %d posts: %s", code, len(slack.Posts()), errs)
	}

	env["SLACK_WEBHOOK_URL"] = slack.WebhookURL()
	code, _, errs = cli(t, env, "check", "--inventory", "../testdata/sample.json", "--notify")
	if code != exitUsage || !strings.Contains(errs, "VPNCHECK_SLACK_SECRET and SLACK_WEBHOOK_URL") {
		t.Errorf("both set: exit %d, %s", code, errs)
	}
	delete(env, "SLACK_WEBHOOK_URL")
	env["VPNCHECK_SLACK_SECRET"] = "vpncheck/nope"
	code, _, errs = cli(t, env, "check", "--inventory", "../testdata/sample.json", "--notify")
	if code != exitIncomplete || !strings.Contains(errs, "get secret vpncheck/nope: secret not found") {
		t.Errorf("missing: exit %d, %s", code, errs)
	}
	for _, s := range []string{slack.Token(), "CANARY-AK-SECRET"} {
		if strings.Contains(errs, s) {
			t.Errorf("stderr leaks %s", s)
		}
	}
}

// TestSecretPepper: the pepper comes whole from its secret; unset is "".
func TestSecretPepper(t *testing.T) {
	r := func() (secrets.Reader, error) { return mapReader{"p": " " + pepperCanary + "\n", "empty": " "}, nil }
	ctx := context.Background()
	for _, tc := range []struct{ name, want, err string }{
		{"", "", ""}, {"p", pepperCanary, ""}, {"empty", "", "secret empty: empty"}, {"gone", "", "not found"},
	} {
		got, err := secretPepper(ctx, func(k string) string {
			if k == envKeyPepperSecret {
				return tc.name
			}
			return ""
		}, r)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: %q, %v", tc.name, got, err)
		}
		if err != nil && strings.Contains(err.Error(), pepperCanary) {
			t.Errorf("error leaks the pepper: %v", err)
		}
	}
}

type mapReader map[string]string

func (m mapReader) Secret(_ context.Context, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}
