package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/secrets"
	"github.com/vpncheck/vpncheck/checker/secrets/kmsfake"
)

// Canaries: none may appear in an error.
const (
	webhook = "https://hooks.slack.com/services/T0/B0/canary-webhook-7f3a"
	token   = "xoxb-canary-token-55d1"
	pepper  = "canary-pepper-0c9e"
)

var role = acsfake.Credential{AccessKeyID: "STS.role", AccessKeySecret: "role-secret", SecurityToken: "role-token", Label: "role"}

func roleCred(t *testing.T) credentials.Credential {
	t.Helper()
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	c, err := credentials.NewCredential(&credentials.Config{Type: tea.String("sts"),
		AccessKeyId: tea.String(role.AccessKeyID), AccessKeySecret: tea.String(role.AccessKeySecret), SecurityToken: tea.String(role.SecurityToken)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKMSSecret(t *testing.T) {
	fake := kmsfake.Start(role)
	defer fake.Close()
	fake.Put(kmsfake.Secret{Name: "vpncheck/slack", Data: `{"webhook_url": "` + webhook + `"}`})
	fake.Put(kmsfake.Secret{Name: "vpncheck/pepper", Data: pepper + "\n"})
	fake.Put(kmsfake.Secret{Name: "other", Data: "x", Readers: []string{"someone-else"}})
	k, err := secrets.NewKMS(roleCred(t), "cn-hangzhou", fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	s, err := secrets.ReadSlack(ctx, k, "vpncheck/slack")
	if err != nil || s.WebhookURL != webhook || s.Kind() != "webhook" {
		t.Fatalf("ReadSlack = %+v, %v", s, err)
	}
	p, err := secrets.Pepper(ctx, k, "vpncheck/pepper")
	if err != nil || p != pepper {
		t.Fatalf("Pepper = %q, %v", p, err)
	}

	_, err = k.Secret(ctx, "vpncheck/missing")
	if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "vpncheck/missing") || !strings.Contains(err.Error(), "Forbidden.ResourceNotFound") {
		t.Errorf("missing secret: %v", err)
	}
	_, err = k.Secret(ctx, "other")
	var ae *org.APIError
	if !errors.As(err, &ae) || ae.Code != "Forbidden.NoPermission" || ae.Status != 403 {
		t.Errorf("forbidden secret: %v", err)
	}
	// A wrong secret key is refused by the signature check, not served.
	bad, _ := credentials.NewCredential(&credentials.Config{Type: tea.String("sts"),
		AccessKeyId: tea.String(role.AccessKeyID), AccessKeySecret: tea.String("wrong"), SecurityToken: tea.String(role.SecurityToken)})
	kb, _ := secrets.NewKMS(bad, "cn-hangzhou", fake.URL)
	if _, err := kb.Secret(ctx, "vpncheck/slack"); !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
		t.Errorf("wrong key: %v", err)
	}
	for _, c := range fake.Calls() {
		if c.Code == "" && c.Caller != "role" {
			t.Errorf("served a call not signed by the role: %+v", c)
		}
	}
}

// TestParseSlack: the accepted shapes, and errors that never quote the
// value.
func TestParseSlack(t *testing.T) {
	for _, tc := range []struct {
		data, want, err string
	}{
		{`{"webhook_url":"` + webhook + `"}`, "webhook", ""},
		{`{"bot_token":"` + token + `","channel":"#sec"}`, "bot token", ""},
		{`{"bot_token":"` + token + `"}`, "", "bot_token without channel"},
		{`{"webhook_url":"http://` + token + `"}`, "", "not an https URL"},
		{`{"bot_token":"` + webhook + `","channel":"c"}`, "", "does not look like a Slack token"},
		{`{"webhook_url":"` + webhook + `","bot_token":"` + token + `"}`, "", "give one"},
		{`{"webhook":"` + webhook + `"}`, "", `an unknown key "webhook"`},
		{`{"` + webhook + `":""}`, "", "an unknown key"},
		{`{"SLACK_BOT_TOKEN=` + token + `":""}`, "", "an unknown key"},
		{`{"webhook_url": 7}`, "", "webhook_url is not a string"},
		{webhook, "", "not a JSON object"},
		{`{"webhook_url":"` + webhook, "", "not a JSON object"},
		{`{}`, "", "neither webhook_url nor bot_token"},
	} {
		s, err := secrets.ParseSlack("vpncheck/slack", tc.data)
		if tc.err == "" {
			if err != nil || s.Kind() != tc.want {
				t.Errorf("%s: %+v %v", tc.data, s, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.data, err, tc.err)
			continue
		}
		for _, c := range []string{webhook, token, "canary"} {
			if strings.Contains(err.Error(), c) {
				t.Errorf("error leaks the value: %v", err)
			}
		}
	}
}

// An answer larger than any secret KMS holds is refused while read, never
// taken whole into memory, and the error quotes none of it.
func TestKMSAnswerBounded(t *testing.T) {
	fake := kmsfake.Start(role)
	defer fake.Close()
	fake.Put(kmsfake.Secret{Name: "huge", Data: pepper + strings.Repeat("x", 4<<20)})
	k, err := secrets.NewKMS(roleCred(t), "cn-hangzhou", fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := k.Secret(context.Background(), "huge")
	if !errors.Is(err, apiwire.ErrBodyTooLarge) || v != "" {
		t.Fatalf("Secret = %d bytes, %v: want ErrBodyTooLarge", len(v), err)
	}
	if strings.Contains(err.Error(), pepper) || !strings.Contains(err.Error(), "get secret huge") {
		t.Errorf("error %v", err)
	}
}
