// Package slackfake is a fake Slack for tests: an HTTP server on 127.0.0.1
// that speaks the incoming-webhook protocol and the Web API methods vpncheck
// uses (chat.postMessage, conversations.history, conversations.replies, and
// the external file upload: files.getUploadURLExternal, the upload URL it
// hands out, files.completeUploadExternal), with Slack's message limits,
// field names and error bodies, and scripted failures (429 with
// Retry-After, 5xx). It records every request body, accepted or not, so a
// test can search them for secrets.
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Defaults of a new server.
const (
	DefaultToken   = "xoxb-fake-token"
	DefaultChannel = "C0VPNCHECK"
	webhookPrefix  = "/services/"
)

// Failure is a scripted answer to one posting request (webhook or
// chat.postMessage), in place of normal handling. The zero Failure lets
// its request through (Pass), to script a failure after some successes.
type Failure struct {
	Status     int    // HTTP status; 429 sends Retry-After
	RetryAfter int    // seconds, sent with a 429
	Error      string // with Status 0 or 200 on the Web API: {"ok":false,"error":Error}
}

// Pass is the scripted answer that handles a request normally.
var Pass = Failure{}

// Post is one message Slack accepted.
type Post struct {
	Via      string          // "webhook", "chat.postMessage" or "files.completeUploadExternal"
	Channel  string          // chat.postMessage only
	TS       string          // the message's timestamp
	ThreadTS string          // the parent's, for a reply
	Text     string          // the fallback text
	Blocks   json.RawMessage // as sent
	Metadata json.RawMessage // chat.postMessage only, as sent
	Files    []File          // the files a file share message shares
}

// Request is one request's raw body, whatever became of it.
type Request struct {
	Path   string
	Body   string
	Status int
	Error  string // Slack's error code, if one was returned
}

// Options configure a server.
type Options struct {
	Token       string // accepted bot token; DefaultToken if empty
	Channel     string // the one channel; DefaultChannel if empty
	WebhookPath string // accepted webhook path; a fixed secret-looking one if empty
	// NoHistory answers conversations.history and .replies with missing_scope,
	// as for a bot token without channels:history.
	NoHistory bool
	// NoFilesWrite answers the file upload methods with missing_scope, as
	// for a bot token without files:write.
	NoFilesWrite bool
}

// File is one file whose upload was completed and shared.
type File struct {
	ID       string
	Name     string // the filename given to files.getUploadURLExternal
	Title    string // from files.completeUploadExternal
	Length   int    // the length declared to files.getUploadURLExternal
	Content  []byte // what was sent to the upload URL
	Channel  string // channel_id
	ThreadTS string
	TS       string // of the message that shares it
}

// upload is a file between files.getUploadURLExternal and its completion.
type upload struct {
	File
	uploaded, completed bool
}

// Server is a running fake Slack.
type Server struct {
	URL string // base, http://127.0.0.1:PORT

	opt Options
	srv *httptest.Server

	mu         sync.Mutex
	script     []Failure
	fileScript []Failure
	posts      []Post
	revoked    bool // the webhook was removed: every post answers 404 no_service
	requests   []Request
	seq        int
	uploads    map[string]*upload // by upload URL path
	files      []File
}

// New starts a fake Slack on 127.0.0.1. Close it when done.
func New(opt Options) *Server {
	if opt.Token == "" {
		opt.Token = DefaultToken
	}
	if opt.Channel == "" {
		opt.Channel = DefaultChannel
	}
	if opt.WebhookPath == "" {
		opt.WebhookPath = webhookPrefix + "T0FAKE0001/B0FAKE0001/fakewebhooksecret0123456789"
	}
	s := &Server{opt: opt, uploads: map[string]*upload{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+webhookPrefix, s.webhook)
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	mux.HandleFunc("POST /api/files.getUploadURLExternal", s.getUploadURL)
	mux.HandleFunc("POST "+uploadPrefix+"{id}", s.uploadTo)
	mux.HandleFunc("POST /api/files.completeUploadExternal", s.completeUpload)
	mux.HandleFunc("/api/conversations.history", s.history)
	mux.HandleFunc("/api/conversations.replies", s.replies)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.record(r.URL.Path, "", http.StatusNotFound, "unknown_method")
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("slackfake: listen on 127.0.0.1: " + err.Error())
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// WebhookURL is the incoming-webhook URL the server accepts.
func (s *Server) WebhookURL() string { return s.URL + s.opt.WebhookPath }

// APIURL is the Web API base, with its trailing slash.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.opt.Token }

// Channel is the channel the server knows.
func (s *Server) Channel() string { return s.opt.Channel }

// RevokeWebhook removes the webhook, as an admin removing its app does:
// from now on every post to it answers 404 no_service, as Slack does.
func (s *Server) RevokeWebhook() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// FailNext scripts the answers to the next posting requests, in order.
func (s *Server) FailNext(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, fs...)
}

// FailFileNext scripts the answers to the next file upload requests (any
// of the three steps), in order.
func (s *Server) FailFileNext(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fileScript = append(s.fileScript, fs...)
}

// Files returns the files whose upload was completed, in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.files)
}

// Posts returns the accepted messages, in order: chat.postMessage and
// webhook posts, and the messages that share completed files.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// AddMessage puts a top-level message in the channel's history, as if
// posted earlier (for example by another instance), and returns its ts.
func (s *Server) AddMessage(p Post) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.TS == "" {
		p.TS = s.nextTS()
	}
	if p.Channel == "" {
		p.Channel = s.opt.Channel
	}
	s.posts = append(s.posts, p)
	return p.TS
}

func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq)
}

func (s *Server) record(path, body string, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Path: path, Body: body, Status: status, Error: code})
}

// scripted pops the next scripted failure, if any.
func (s *Server) scripted() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return Failure{}, false
	}
	f := s.script[0]
	s.script = s.script[1:]
	return f, true
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(raw)
	plain := func(status int, text string) {
		s.record(r.URL.Path, body, status, text)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	if r.URL.Path != s.opt.WebhookPath || revoked {
		// As Slack answers a URL that names no webhook, or one whose app
		// was removed.
		plain(http.StatusNotFound, "no_service")
		return
	}
	if f, ok := s.scripted(); ok && f != Pass {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			plain(f.Status, "rate_limited")
			return
		}
		if f.Status >= 500 {
			plain(f.Status, "<html><body>server error</body></html>")
			return
		}
		plain(cmpOr(f.Status, http.StatusBadRequest), cmpOr(f.Error, "invalid_payload"))
		return
	}
	var msg struct {
		Text     string          `json:"text"`
		Blocks   json.RawMessage `json:"blocks"`
		ThreadTS string          `json:"thread_ts"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		plain(http.StatusBadRequest, "invalid_payload")
		return
	}
	if code := CheckMessage(msg.Text, msg.Blocks); code != "" {
		plain(http.StatusBadRequest, code)
		return
	}
	s.mu.Lock()
	s.posts = append(s.posts, Post{Via: "webhook", TS: s.nextTS(), Text: msg.Text, Blocks: msg.Blocks})
	s.mu.Unlock()
	plain(http.StatusOK, "ok")
}

// form reads a Web API request's arguments: form-encoded (token in the
// body) or JSON (token in the Authorization header).
func form(r *http.Request, raw []byte) (url.Values, string) {
	vals := r.URL.Query()
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			for k, v := range m {
				switch v := v.(type) {
				case string:
					vals.Set(k, v)
				default:
					b, _ := json.Marshal(v)
					vals.Set(k, string(b))
				}
			}
		}
	default:
		if body, err := url.ParseQuery(string(raw)); err == nil {
			for k, v := range body {
				vals[k] = v
			}
		}
	}
	if t := vals.Get("token"); t != "" {
		token = t
	}
	return vals, token
}

func (s *Server) apiError(w http.ResponseWriter, r *http.Request, body string, status int, code string, extra map[string]any) {
	s.record(r.URL.Path, body, status, code)
	resp := map[string]any{"ok": false, "error": code}
	for k, v := range extra {
		resp[k] = v
	}
	writeJSON(w, status, resp)
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(raw)
	vals, token := form(r, raw)
	if f, ok := s.scripted(); ok && f != Pass {
		switch {
		case f.Status == http.StatusTooManyRequests:
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			s.apiError(w, r, body, f.Status, "ratelimited", nil)
		case f.Status >= 500:
			s.record(r.URL.Path, body, f.Status, "")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, "<html><body>server error</body></html>")
		default:
			s.apiError(w, r, body, cmpOr(f.Status, http.StatusOK), cmpOr(f.Error, "internal_error"), nil)
		}
		return
	}
	if token != s.opt.Token {
		s.apiError(w, r, body, http.StatusOK, "invalid_auth", nil)
		return
	}
	if vals.Get("channel") != s.opt.Channel {
		s.apiError(w, r, body, http.StatusOK, "channel_not_found", nil)
		return
	}
	text, blocks := vals.Get("text"), json.RawMessage(vals.Get("blocks"))
	if len(blocks) == 0 {
		blocks = nil
	}
	if code := CheckMessage(text, blocks); code != "" {
		s.apiError(w, r, body, http.StatusOK, code, nil)
		return
	}
	var meta json.RawMessage
	if m := vals.Get("metadata"); m != "" {
		if !json.Valid([]byte(m)) {
			s.apiError(w, r, body, http.StatusOK, "invalid_metadata_format", nil)
			return
		}
		meta = json.RawMessage(m)
	}
	s.mu.Lock()
	p := Post{Via: "chat.postMessage", Channel: s.opt.Channel, TS: s.nextTS(), ThreadTS: vals.Get("thread_ts"),
		Text: text, Blocks: blocks, Metadata: meta}
	s.posts = append(s.posts, p)
	s.mu.Unlock()
	s.record(r.URL.Path, body, http.StatusOK, "")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS, "message": message(p, true)})
}

func message(p Post, withMeta bool) map[string]any {
	m := map[string]any{"type": "message", "ts": p.TS, "text": p.Text}
	if p.ThreadTS != "" {
		m["thread_ts"] = p.ThreadTS
	}
	if len(p.Blocks) > 0 {
		m["blocks"] = p.Blocks
	}
	if withMeta && len(p.Metadata) > 0 {
		m["metadata"] = p.Metadata
	}
	if len(p.Files) > 0 {
		fs := make([]map[string]any, len(p.Files))
		for i, f := range p.Files {
			fs[i] = map[string]any{"id": f.ID, "name": f.Name, "title": f.Title, "size": len(f.Content)}
		}
		m["files"], m["upload"] = fs, true
	}
	return m
}

func (s *Server) readAuthorized(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(raw)
	vals, token := form(r, raw)
	switch {
	case token != s.opt.Token:
		s.apiError(w, r, body, http.StatusOK, "invalid_auth", nil)
	case s.opt.NoHistory:
		s.apiError(w, r, body, http.StatusOK, "missing_scope", map[string]any{"needed": "channels:history", "provided": "chat:write"})
	case vals.Get("channel") != s.opt.Channel:
		s.apiError(w, r, body, http.StatusOK, "channel_not_found", nil)
	default:
		s.record(r.URL.Path, body, http.StatusOK, "")
		return vals, true
	}
	return nil, false
}

// history lists the channel's top-level messages, newest first.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	vals, ok := s.readAuthorized(w, r)
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(vals.Get("limit"))
	if limit <= 0 || limit > 999 {
		limit = 100
	}
	withMeta := vals.Get("include_all_metadata") == "1" || vals.Get("include_all_metadata") == "true"
	s.mu.Lock()
	var msgs []map[string]any
	for i := len(s.posts) - 1; i >= 0 && len(msgs) < limit; i-- {
		p := s.posts[i]
		if p.Via != "webhook" && p.ThreadTS == "" {
			msgs = append(msgs, message(p, withMeta))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": msgs, "has_more": false})
}

// replies lists a thread: the parent, then its replies, oldest first.
func (s *Server) replies(w http.ResponseWriter, r *http.Request) {
	vals, ok := s.readAuthorized(w, r)
	if !ok {
		return
	}
	ts := vals.Get("ts")
	withMeta := vals.Get("include_all_metadata") == "1" || vals.Get("include_all_metadata") == "true"
	s.mu.Lock()
	var msgs []map[string]any
	for _, p := range s.posts {
		if p.Via != "webhook" && (p.TS == ts || p.ThreadTS == ts) {
			msgs = append(msgs, message(p, withMeta))
		}
	}
	s.mu.Unlock()
	if len(msgs) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "thread_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": msgs, "has_more": false})
}

// uploadPrefix is the path of the upload URLs files.getUploadURLExternal
// hands out (Slack's are https://files.slack.com/upload/v1/...). They are
// served by this server, so slack-go sends its token there as it would to
// files.slack.com.
const uploadPrefix = "/upload/v1/"

// fileScripted pops the next scripted failure of the file flow and, if it
// is not Pass, answers with it; it reports whether it answered.
func (s *Server) fileScripted(w http.ResponseWriter, r *http.Request, body string) bool {
	s.mu.Lock()
	var f Failure
	ok := len(s.fileScript) > 0
	if ok {
		f, s.fileScript = s.fileScript[0], s.fileScript[1:]
	}
	s.mu.Unlock()
	if !ok || f == Pass {
		return false
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		s.apiError(w, r, body, f.Status, "ratelimited", nil)
	case f.Status >= 500:
		s.record(r.URL.Path, body, f.Status, "")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html><body>server error</body></html>")
	default:
		s.apiError(w, r, body, cmpOr(f.Status, http.StatusOK), cmpOr(f.Error, "internal_error"), nil)
	}
	return true
}

// fileAuthorized checks a file method's token and scope.
func (s *Server) fileAuthorized(w http.ResponseWriter, r *http.Request, body, token string) bool {
	switch {
	case token == "":
		s.apiError(w, r, body, http.StatusOK, "not_authed", nil)
	case token != s.opt.Token:
		s.apiError(w, r, body, http.StatusOK, "invalid_auth", nil)
	case s.opt.NoFilesWrite:
		provided := "chat:write,channels:history"
		if s.opt.NoHistory {
			provided = "chat:write"
		}
		s.apiError(w, r, body, http.StatusOK, "missing_scope", map[string]any{"needed": "files:write", "provided": provided})
	default:
		return true
	}
	return false
}

// getUploadURL is files.getUploadURLExternal: form-encoded arguments
// (a JSON body is refused with invalid_arguments, as Slack does), a
// filename and a length in bytes; it reserves an upload URL and a file id.
func (s *Server) getUploadURL(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(raw)
	if s.fileScripted(w, r, body) {
		return
	}
	vals, token := form(r, raw)
	if !s.fileAuthorized(w, r, body, token) {
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		s.apiError(w, r, body, http.StatusOK, "invalid_arguments", nil)
		return
	}
	name, lengthArg := vals.Get("filename"), vals.Get("length")
	length, err := strconv.Atoi(lengthArg)
	switch {
	case name == "" || lengthArg == "" || err != nil || length < 0:
		s.apiError(w, r, body, http.StatusOK, "invalid_arguments", nil)
		return
	case length == 0:
		s.apiError(w, r, body, http.StatusOK, "missing_argument", nil)
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("F0FAKE%06d", s.seq)
	path := fmt.Sprintf("%sCFAKE%06d?pi=fake", uploadPrefix, s.seq)
	s.uploads[strings.SplitN(path, "?", 2)[0]] = &upload{File: File{ID: id, Name: name, Length: length}}
	s.mu.Unlock()
	s.record(r.URL.Path, body, http.StatusOK, "")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "upload_url": s.URL + path, "file_id": id})
}

// uploadTo receives a file's bytes at the URL getUploadURL handed out: a
// multipart form (the first file part) or the raw body. Slack answers
// "OK - <bytes>" in plain text.
func (s *Server) uploadTo(w http.ResponseWriter, r *http.Request) {
	if s.fileScripted(w, r, "") {
		return
	}
	var content []byte
	if ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			if part.FileName() != "" || part.FormName() == "file" || part.FormName() == "filename" {
				content, _ = io.ReadAll(io.LimitReader(part, 64<<20))
				break
			}
		}
	} else {
		content, _ = io.ReadAll(io.LimitReader(r.Body, 64<<20))
	}
	s.mu.Lock()
	u := s.uploads[r.URL.Path]
	if u != nil && !u.completed {
		u.Content, u.uploaded = content, true
	}
	s.mu.Unlock()
	if u == nil {
		s.record(r.URL.Path, "", http.StatusNotFound, "")
		http.NotFound(w, r)
		return
	}
	s.record(r.URL.Path, string(content), http.StatusOK, "")
	w.Header().Set("Content-Type", "text/plain")
	_, _ = fmt.Fprintf(w, "OK - %d", len(content))
}

// completeUpload is files.completeUploadExternal: files (a JSON array of
// {"id","title"}), channel_id, thread_ts, initial_comment. A file id that
// was not reserved and uploaded, or that was completed already (Slack
// allows one completion), is file_not_found. Completed files are shared
// by one message, in the thread when thread_ts is given.
func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body := string(raw)
	if s.fileScripted(w, r, body) {
		return
	}
	vals, token := form(r, raw)
	if !s.fileAuthorized(w, r, body, token) {
		return
	}
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(vals.Get("files")), &files); err != nil || len(files) == 0 {
		s.apiError(w, r, body, http.StatusOK, "invalid_arguments", nil)
		return
	}
	channel := vals.Get("channel_id")
	if channel != "" && channel != s.opt.Channel {
		s.apiError(w, r, body, http.StatusOK, "channel_not_found", nil)
		return
	}
	s.mu.Lock()
	var done []*upload
	for _, f := range files {
		var found *upload
		for _, u := range s.uploads {
			if u.ID == f.ID && u.uploaded && !u.completed {
				found = u
			}
		}
		if found == nil {
			s.mu.Unlock()
			s.apiError(w, r, body, http.StatusOK, "file_not_found", nil)
			return
		}
		found.Title = cmpOr(f.Title, found.Name)
		done = append(done, found)
	}
	out := make([]map[string]any, len(done))
	p := Post{Via: "files.completeUploadExternal", Channel: channel, ThreadTS: vals.Get("thread_ts"), Text: vals.Get("initial_comment")}
	if channel != "" {
		p.TS = s.nextTS()
	}
	for i, u := range done {
		u.completed, u.Channel, u.ThreadTS, u.TS = true, channel, p.ThreadTS, p.TS
		s.files = append(s.files, u.File)
		p.Files = append(p.Files, u.File)
		out[i] = map[string]any{"id": u.ID, "title": u.Title}
	}
	if channel != "" {
		s.posts = append(s.posts, p)
	}
	s.mu.Unlock()
	s.record(r.URL.Path, body, http.StatusOK, "")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "files": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Slack's limits, as the fake enforces them.
const (
	MaxBlocks         = 50
	MaxHeaderText     = 150
	MaxSectionText    = 3000
	MaxFields         = 10
	MaxFieldText      = 2000
	MaxContextElems   = 10
	MaxBlockTextTotal = 12000
	MaxText           = 40000
	maxBlockID        = 255
)

// CheckMessage judges a message as Slack would: "" when it is accepted,
// else Slack's error code (no_text, invalid_blocks, msg_too_long).
func CheckMessage(text string, blocks json.RawMessage) string {
	code, _ := Explain(text, blocks)
	return code
}

// Explain is CheckMessage with the reason spelt out.
func Explain(text string, blocks json.RawMessage) (code, reason string) {
	if utf8.RuneCountInString(text) > MaxText {
		return "msg_too_long", fmt.Sprintf("text has %d characters", utf8.RuneCountInString(text))
	}
	if len(blocks) == 0 || string(blocks) == "null" {
		if strings.TrimSpace(text) == "" {
			return "no_text", "neither text nor blocks"
		}
		return "", ""
	}
	var bs []map[string]json.RawMessage
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return "invalid_blocks_format", err.Error()
	}
	if len(bs) == 0 && strings.TrimSpace(text) == "" {
		return "no_text", "no blocks and no text"
	}
	if len(bs) > MaxBlocks {
		return "invalid_blocks", fmt.Sprintf("%d blocks, more than %d", len(bs), MaxBlocks)
	}
	total := 0
	for i, b := range bs {
		var typ, id string
		_ = json.Unmarshal(b["type"], &typ)
		_ = json.Unmarshal(b["block_id"], &id)
		if len(id) > maxBlockID {
			return "invalid_blocks", fmt.Sprintf("block %d: block_id too long", i)
		}
		n, why := checkBlock(typ, b)
		if why != "" {
			return "invalid_blocks", fmt.Sprintf("block %d (%s): %s", i, typ, why)
		}
		total += n
	}
	if total > MaxBlockTextTotal {
		return "msg_too_long", fmt.Sprintf("blocks hold %d characters of text", total)
	}
	return "", ""
}

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (t *textObj) check(max int, plainOnly bool) (int, string) {
	if t == nil {
		return 0, "missing text"
	}
	if t.Type != "plain_text" && t.Type != "mrkdwn" {
		return 0, fmt.Sprintf("text type %q", t.Type)
	}
	if plainOnly && t.Type != "plain_text" {
		return 0, "text must be plain_text"
	}
	n := utf8.RuneCountInString(t.Text)
	if n == 0 {
		return 0, "empty text"
	}
	if n > max {
		return n, fmt.Sprintf("text has %d characters, more than %d", n, max)
	}
	return n, ""
}

func checkBlock(typ string, b map[string]json.RawMessage) (int, string) {
	switch typ {
	case "divider":
		return 0, ""
	case "header":
		var t *textObj
		_ = json.Unmarshal(b["text"], &t)
		return t.check(MaxHeaderText, true)
	case "section":
		var t *textObj
		var fields []*textObj
		_ = json.Unmarshal(b["text"], &t)
		_ = json.Unmarshal(b["fields"], &fields)
		if t == nil && len(fields) == 0 {
			return 0, "section without text or fields"
		}
		total := 0
		if t != nil {
			n, why := t.check(MaxSectionText, false)
			if why != "" {
				return n, why
			}
			total += n
		}
		if len(fields) > MaxFields {
			return total, fmt.Sprintf("%d fields, more than %d", len(fields), MaxFields)
		}
		for _, f := range fields {
			n, why := f.check(MaxFieldText, false)
			if why != "" {
				return n, "field: " + why
			}
			total += n
		}
		return total, ""
	case "context":
		var elems []*textObj
		if err := json.Unmarshal(b["elements"], &elems); err != nil {
			return 0, "elements: " + err.Error()
		}
		if len(elems) == 0 || len(elems) > MaxContextElems {
			return 0, fmt.Sprintf("%d elements", len(elems))
		}
		total := 0
		for _, e := range elems {
			n, why := e.check(MaxSectionText, false)
			if why != "" {
				return n, why
			}
			total += n
		}
		return total, ""
	}
	return 0, fmt.Sprintf("block type %q not supported by the fake", typ)
}
