package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCheckMessage(t *testing.T) {
	sec := func(n int) map[string]any {
		return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": strings.Repeat("x", n)}}
	}
	many := make([]any, 51)
	for i := range many {
		many[i] = map[string]any{"type": "divider"}
	}
	for _, tc := range []struct {
		name   string
		text   string
		blocks any
		want   string
	}{
		{"ok", "t", []any{sec(3000)}, ""},
		{"no text", "", nil, "no_text"},
		{"section too long", "t", []any{sec(3001)}, "invalid_blocks"},
		{"51 blocks", "t", many, "invalid_blocks"},
		{"header too long", "t", []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", 151)}}}, "invalid_blocks"},
		{"header mrkdwn", "t", []any{map[string]any{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "h"}}}, "invalid_blocks"},
		{"total too long", "t", []any{sec(3000), sec(3000), sec(3000), sec(3000), sec(1)}, "msg_too_long"},
		{"text too long", strings.Repeat("t", 40001), nil, "msg_too_long"},
		{"unknown block", "t", []any{map[string]any{"type": "bogus"}}, "invalid_blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw json.RawMessage
			if tc.blocks != nil {
				raw, _ = json.Marshal(tc.blocks)
			}
			if got := CheckMessage(tc.text, raw); got != tc.want {
				t.Errorf("CheckMessage = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWebhookAndAPIErrors(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	post := func(u, ct, body string) (int, string) {
		resp, err := http.Post(u, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(s.URL+"/services/T/B/wrong", "application/json", `{"text":"x"}`); code != 404 || body != "no_service" {
		t.Errorf("wrong webhook path: %d %q", code, body)
	}
	if code, body := post(s.WebhookURL(), "application/json", `{"text":"x","blocks":[{"type":"bogus"}]}`); code != 400 || body != "invalid_blocks" {
		t.Errorf("bad blocks: %d %q", code, body)
	}
	s.FailNext(Failure{Status: 429, RetryAfter: 3})
	resp, err := http.Post(s.WebhookURL(), "application/json", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("scripted 429: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	form := url.Values{"token": {"xoxb-wrong"}, "channel": {s.Channel()}, "text": {"x"}}.Encode()
	if _, body := post(s.APIURL()+"chat.postMessage", "application/x-www-form-urlencoded", form); !strings.Contains(body, "invalid_auth") {
		t.Errorf("wrong token: %s", body)
	}
	form = url.Values{"token": {s.Token()}, "channel": {s.Channel()}, "text": {"x"}}.Encode()
	if _, body := post(s.APIURL()+"chat.postMessage", "application/x-www-form-urlencoded", form); !strings.Contains(body, `"ok":true`) {
		t.Errorf("post: %s", body)
	}
	if n := len(s.Posts()); n != 1 {
		t.Errorf("%d posts accepted, want 1", n)
	}
	if n := len(s.Requests()); n != 5 {
		t.Errorf("%d requests recorded, want 5: %+v", n, s.Requests())
	}
}
