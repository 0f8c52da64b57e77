// Package secrets reads vpncheck's secrets from KMS Secrets Manager
// (GetSecretValue, kms-20160120) and gives them shape: the Slack
// destination ({"webhook_url": ...} or {"bot_token": ..., "channel": ...})
// and the key-fingerprint pepper. A secret's value never appears in an
// error this package returns; callers must not log it either.
//
// It must not import the function, the run or the notifier: it hands back
// plain values.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Reader reads the current value of a named secret.
type Reader interface {
	Secret(ctx context.Context, name string) (string, error)
}

// ErrNotFound is wrapped when the secret does not exist, or the caller may
// not see that it does (KMS answers Forbidden.ResourceNotFound to both).
var ErrNotFound = errors.New("secret not found")

// Slack is where the findings go: an incoming webhook, or a bot token with
// its channel.
type Slack struct {
	WebhookURL string `json:"webhook_url"`
	BotToken   string `json:"bot_token"`
	Channel    string `json:"channel"`
}

// ParseSlack reads a Slack secret's value, a JSON object with webhook_url,
// or bot_token and channel. The errors describe the shape, never the value.
func ParseSlack(name, data string) (Slack, error) {
	var s Slack
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return Slack{}, fmt.Errorf("secret %s: %s is not a string", name, ute.Field)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			// A key is part of the value: a URL or token written as a key
			// ({"https://hooks...": ""}) is not quoted.
			if !keyName(f) {
				f = "(not quoted: it is no key name)"
			}
			return Slack{}, fmt.Errorf("secret %s: an unknown key %s: want {\"webhook_url\": ...} or {\"bot_token\": ..., \"channel\": ...}", name, f)
		}
		// The decoder's syntax errors can quote the text: say only where.
		return Slack{}, fmt.Errorf("secret %s: not a JSON object: want {\"webhook_url\": ...} or {\"bot_token\": ..., \"channel\": ...}", name)
	}
	s.WebhookURL, s.BotToken, s.Channel = strings.TrimSpace(s.WebhookURL), strings.TrimSpace(s.BotToken), strings.TrimSpace(s.Channel)
	if err := s.check(); err != nil {
		return Slack{}, fmt.Errorf("secret %s: %w", name, err)
	}
	return s, nil
}

// keyName reports whether quoted, a JSON key as the decoder quotes it, is a
// short name (letters, digits, '_' and '-'), safe to repeat in an error.
func keyName(quoted string) bool {
	k, err := strconv.Unquote(quoted)
	if err != nil || k == "" || len(k) > 32 {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) < 0
}

// check says whether s is shaped like a webhook URL or a bot token with a
// channel, without quoting either.
func (s Slack) check() error {
	switch {
	case s.WebhookURL != "" && s.BotToken != "":
		return errors.New("both webhook_url and bot_token: give one")
	case s.WebhookURL != "":
		u, err := url.Parse(s.WebhookURL)
		// http only to a local test double.
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && u.Hostname() == "127.0.0.1")) {
			return errors.New("webhook_url is not an https URL (want https://hooks.slack.com/services/...)")
		}
	case s.BotToken != "":
		if !strings.HasPrefix(s.BotToken, "xoxb-") && !strings.HasPrefix(s.BotToken, "xoxp-") {
			return errors.New("bot_token does not look like a Slack token (want xoxb-...)")
		}
		if s.Channel == "" {
			return errors.New("bot_token without channel")
		}
	default:
		return errors.New("neither webhook_url nor bot_token")
	}
	return nil
}

// Kind names what s holds: "webhook" or "bot token".
func (s Slack) Kind() string {
	if s.WebhookURL != "" {
		return "webhook"
	}
	return "bot token"
}

// Pepper reads the key-fingerprint pepper from the secret name: its whole
// value, surrounding white space removed. An empty secret is an error.
func Pepper(ctx context.Context, r Reader, name string) (string, error) {
	v, err := r.Secret(ctx, name)
	if err != nil {
		return "", err
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("secret %s: empty", name)
	}
	return v, nil
}

// ReadSlack reads and parses the Slack secret name.
func ReadSlack(ctx context.Context, r Reader, name string) (Slack, error) {
	v, err := r.Secret(ctx, name)
	if err != nil {
		return Slack{}, err
	}
	return ParseSlack(name, v)
}
