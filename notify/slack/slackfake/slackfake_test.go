package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	slackgo "github.com/slack-go/slack"
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

func TestFileUploadFlow(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	call := func(method, ct, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(s.APIURL()+method, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return out
	}
	form := func(kv ...string) string {
		v := url.Values{"token": {s.Token()}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formCT = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"json body", "application/json", `{"token":"` + s.Token() + `","filename":"a.json","length":3}`, "invalid_arguments"},
		{"no length", formCT, form("filename", "a.json"), "invalid_arguments"},
		{"zero length", formCT, form("filename", "a.json", "length", "0"), "missing_argument"},
		{"no token", formCT, "filename=a.json&length=3", "not_authed"},
		{"wrong token", formCT, "token=xoxb-wrong&filename=a.json&length=3", "invalid_auth"},
	} {
		if got := call("files.getUploadURLExternal", tc.ct, tc.body); got["ok"] != false || got["error"] != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, got, tc.want)
		}
	}
	res := call("files.getUploadURLExternal", formCT, form("filename", "report.json", "length", "11"))
	uploadURL, _ := res["upload_url"].(string)
	fileID, _ := res["file_id"].(string)
	if res["ok"] != true || !strings.HasPrefix(uploadURL, s.URL+"/upload/v1/") || !strings.HasPrefix(fileID, "F") {
		t.Fatalf("getUploadURLExternal: %v", res)
	}
	files := `[{"id":"` + fileID + `","title":"Report"}]`
	if got := call("files.completeUploadExternal", formCT, form("files", files, "channel_id", s.Channel())); got["error"] != "file_not_found" {
		t.Errorf("completed before the upload: %v", got)
	}
	resp, err := http.Post(uploadURL, "application/octet-stream", strings.NewReader(`{"a":"b"}  `))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "OK - 11" {
		t.Errorf("upload: %d %q", resp.StatusCode, b)
	}
	if got := call("files.completeUploadExternal", formCT, form("files", files, "channel_id", "C0OTHER")); got["error"] != "channel_not_found" {
		t.Errorf("another channel: %v", got)
	}
	if got := call("files.completeUploadExternal", "application/json", `{"token":"`+s.Token()+`","files":`+files+`,"channel_id":"`+s.Channel()+`"}`); got["ok"] != true {
		t.Errorf("complete: %v", got)
	}
	if got := call("files.completeUploadExternal", formCT, form("files", files, "channel_id", s.Channel())); got["error"] != "file_not_found" {
		t.Errorf("completed twice: %v", got)
	}
	if fs := s.Files(); len(fs) != 1 || string(fs[0].Content) != `{"a":"b"}  ` || fs[0].Title != "Report" || fs[0].Name != "report.json" || fs[0].Length != 11 {
		t.Errorf("files %+v", fs)
	}
	if ps := s.Posts(); len(ps) != 1 || ps[0].Via != "files.completeUploadExternal" || len(ps[0].Files) != 1 {
		t.Errorf("posts %+v", ps)
	}

	scoped := New(Options{NoFilesWrite: true})
	defer scoped.Close()
	resp, err = http.Post(scoped.APIURL()+"files.getUploadURLExternal", formCT,
		strings.NewReader(url.Values{"token": {scoped.Token()}, "filename": {"a"}, "length": {"1"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"error":"missing_scope"`) || !strings.Contains(string(b), `"needed":"files:write"`) {
		t.Errorf("without files:write: %s", b)
	}
}

// TestFileUploadWithSlackGo runs slack-go's own upload (the three steps)
// against the fake, in a thread.
func TestFileUploadWithSlackGo(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slackgo.New(s.Token(), slackgo.OptionAPIURL(s.APIURL()))
	_, ts, err := api.PostMessage(s.Channel(), slackgo.MsgOptionText("parent", false))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := api.UploadFileContext(context.Background(), slackgo.UploadFileParameters{
		Content: "hello", FileSize: 5, Filename: "r.json", Title: "R", Channel: s.Channel(), ThreadTimestamp: ts,
	})
	if err != nil {
		t.Fatal(err)
	}
	fs := s.Files()
	if len(fs) != 1 || fs[0].ID != sum.ID || string(fs[0].Content) != "hello" || fs[0].ThreadTS != ts {
		t.Errorf("file %+v, summary %+v", fs, sum)
	}
	_, _, _, err = api.GetConversationRepliesContext(context.Background(), &slackgo.GetConversationRepliesParameters{ChannelID: s.Channel(), Timestamp: ts})
	if err != nil {
		t.Errorf("replies: %v", err)
	}
	denied := New(Options{NoFilesWrite: true})
	defer denied.Close()
	api = slackgo.New(denied.Token(), slackgo.OptionAPIURL(denied.APIURL()))
	_, err = api.UploadFileContext(context.Background(), slackgo.UploadFileParameters{Content: "x", FileSize: 1, Filename: "r", Channel: denied.Channel()})
	var se slackgo.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != "files:write" {
		t.Errorf("without files:write: %#v", err)
	}
}
