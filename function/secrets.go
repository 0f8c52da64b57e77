package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/secrets"
)

// Secrets from KMS Secrets Manager (config.go names the variables): the
// Slack destination and the key-fingerprint pepper. Their values go to the
// notifier and the fingerprints only: never to a log, a report or an error.

// kmsReader reads secrets as cred in region, at VPNCHECK_KMS_ENDPOINT if set.
func kmsReader(cred credentials.Credential, region string, getenv func(string) string) (secrets.Reader, error) {
	return secrets.NewKMS(cred, region, strings.TrimSpace(getenv(envKMSEndpoint)))
}

// slackGetenv is getenv with the Slack variables taken from the secret
// VPNCHECK_SLACK_SECRET names, read through r, so the notifier is built as
// from plain variables. Without the variable it is getenv. Both the secret
// and a plain SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN set is a usage error:
// which one posts would be a guess.
func slackGetenv(ctx context.Context, getenv func(string) string, r func() (secrets.Reader, error)) (func(string) string, error) {
	name := strings.TrimSpace(getenv(envSlackSecret))
	if name == "" {
		return getenv, nil
	}
	if getenv("SLACK_WEBHOOK_URL") != "" || getenv("SLACK_BOT_TOKEN") != "" {
		return nil, badinput.Errorf("%s and SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN are both set: keep the secret, unset the plain variable", envSlackSecret)
	}
	reader, err := r()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envSlackSecret, err)
	}
	s, err := secrets.ReadSlack(ctx, reader, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envSlackSecret, err)
	}
	return func(k string) string {
		switch k {
		case "SLACK_WEBHOOK_URL":
			return s.WebhookURL
		case "SLACK_BOT_TOKEN":
			return s.BotToken
		case "SLACK_CHANNEL":
			return s.Channel
		}
		return getenv(k)
	}, nil
}

// cliReader reads secrets with the command line's credential chain in its
// home region.
func cliReader(getenv func(string) string) func() (secrets.Reader, error) {
	return func() (secrets.Reader, error) {
		cred, err := chainCredential(getenv)
		if err != nil {
			return nil, err
		}
		region := homeRegion(getenv)
		if region == "" {
			return nil, badinput.Errorf("no region for KMS: set ALIBABA_CLOUD_REGION_ID (the secret's region)")
		}
		return kmsReader(cred, region, getenv)
	}
}

// instanceSecrets are the secrets a Function Compute instance reads once,
// with the credentials of its first invocation that succeeds in reading
// them (the instance has none before an invocation brings them). Until
// then every invocation tries again, and fails if it cannot.
type instanceSecrets struct {
	mu     sync.Mutex
	done   bool
	pepper string // the key-fingerprint pepper; "" without VPNCHECK_KEY_PEPPER_SECRET
}

// needsKMS reports whether the function reads a secret from KMS.
func needsKMS(getenv func(string) string) bool {
	return strings.TrimSpace(getenv(envSlackSecret)) != "" || strings.TrimSpace(getenv(envKeyPepperSecret)) != ""
}

// loadSecrets reads the KMS secrets as this invocation, once per instance,
// and builds the notifier from the Slack secret.
func (h *fcHandler) loadSecrets(ctx context.Context, fctx *fccontext.FcContext) error {
	s := h.secrets
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	reader := func() (secrets.Reader, error) {
		c := fctx.Credentials
		if c.AccessKeyId == "" || c.AccessKeySecret == "" {
			return nil, fmt.Errorf("the invocation carries no credentials to read the secret with: give the function a role")
		}
		cred, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
		if err != nil {
			return nil, err
		}
		return kmsReader(cred, fctx.Region, h.getenv)
	}
	getenv, err := slackGetenv(ctx, h.getenv, reader)
	if err != nil {
		return err
	}
	pepper, err := secretPepper(ctx, h.getenv, reader)
	if err != nil {
		return err
	}
	if strings.TrimSpace(h.getenv(envSlackSecret)) != "" {
		h.notifier, h.notifierErr = notifierFromEnv(getenv)
	}
	s.pepper, s.done = pepper, true
	return nil
}

// secretPepper is the pepper the instance read from KMS, or nil (none
// configured, or not read yet).
func (h *fcHandler) secretPepper() []byte {
	s := h.secrets
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pepper == "" {
		return nil
	}
	return []byte(s.pepper)
}
