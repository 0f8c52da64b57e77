// Package ossfake is a local fake of Alibaba Cloud OSS for tests. It
// speaks the wire protocol the official Go SDK (alibabacloud-oss-go-sdk-v2)
// uses, path-style on 127.0.0.1, and checks the SDK's real
// OSS4-HMAC-SHA256 signatures, so the real client code runs in tests.
//
// It serves PutObject (with x-oss-forbid-overwrite), GetObject,
// HeadObject, DeleteObject, ListObjectsV2 and GetBucketVersioning, and for
// vpncheck setup PutBucket, GetBucketInfo, PutBucketEncryption and
// Put/GetBucketLifecycle, with fault injection and a request log. A
// foreign bucket (another account's) answers AccessDenied, and
// BucketAlreadyExists to PutBucket.
package ossfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config is what the fake accepts and serves.
type Config struct {
	// Region is the signing region the fake expects (default cn-hangzhou).
	Region string
	// The one access key the fake accepts. With a SecurityToken, every
	// request must carry it (STS credentials); without, none may.
	AccessKeyID, AccessKeySecret, SecurityToken string
	// Buckets exist from the start, unversioned and empty.
	Buckets []string
	// Foreign buckets exist but belong to another account.
	Foreign []string
	// PageSize caps max-keys in ListObjectsV2 (default 1000), so tests can
	// force many pages.
	PageSize int
}

// Fault makes the next Count requests of operation Op (e.g. "PutObject")
// answer Status with error Code. With AfterApply the operation is
// performed first, as when the service acted but its answer was lost.
type Fault struct {
	Op         string
	Count      int
	Status     int
	Code       string
	AfterApply bool
}

// Request is one entry of the request log.
type Request struct {
	Op     string // e.g. "GetObject"; "Unknown" for what the fake does not serve
	Bucket string
	Key    string
	Status int
	Code   string // the error code, "" on success
}

// MaxSkew is how far x-oss-date may be from the fake's clock.
const MaxSkew = 15 * time.Minute

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint, "http://127.0.0.1:PORT".
	URL string

	cfg Config
	srv *httptest.Server

	mu      sync.Mutex
	buckets map[string]*bucket
	faults  []Fault
	log     []Request
	seq     int
}

type bucket struct {
	acl        string // "private" unless set
	sse        string // default server-side encryption: "", "AES256" or "KMS"
	lifecycle  []byte // the LifecycleConfiguration XML as put; nil: none
	versioning string // "", "Enabled" or "Suspended"
	objects    map[string]object
}

type object struct {
	data        []byte
	etag        string
	contentType string
	meta        http.Header // x-oss-meta-* headers
	modified    time.Time
	versionID   string
}

// New starts a fake on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Region == "" {
		cfg.Region = "cn-hangzhou"
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 1000 {
		cfg.PageSize = 1000
	}
	s := &Server{cfg: cfg, buckets: map[string]*bucket{}}
	for _, b := range cfg.Buckets {
		s.buckets[b] = &bucket{acl: "private", objects: map[string]object{}}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// SetVersioning sets a bucket's versioning status: "", "Enabled" or
// "Suspended".
func (s *Server) SetVersioning(bucketName, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[bucketName]; b != nil {
		b.versioning = status
	}
}

// BucketSettings are a bucket's ACL, default encryption and lifecycle
// configuration (XML as put, "" for none).
func (s *Server) BucketSettings(bucketName string) (acl, sse, lifecycle string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return "", "", "", false
	}
	return b.acl, b.sse, string(b.lifecycle), true
}

// SetACL sets a bucket's ACL ("private", "public-read", ...).
func (s *Server) SetACL(bucketName, acl string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[bucketName]; b != nil {
		b.acl = acl
	}
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Object returns an object's content and ETag.
func (s *Server) Object(bucketName, key string) (data []byte, etag string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, "", false
	}
	o, ok := b.objects[key]
	return slices.Clone(o.data), o.etag, ok
}

// Requests returns the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Count returns how many requests of operation op arrived (all of them
// when op is "").
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if op == "" || r.Op == op {
			n++
		}
	}
	return n
}

// Error is an OSS error answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// recorder notes the status and error code an answer carries.
type recorder struct {
	http.ResponseWriter
	status int
	code   string
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	bucketName, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op := operation(r, key)
	rec := &recorder{ResponseWriter: w}
	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("%024X", s.seq)
	s.mu.Unlock()
	h := w.Header()
	h.Set("x-oss-request-id", reqID)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Server", "AliyunOSS")

	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = s.verify(r, bucketName, key, body)
	}
	if err == nil && op == "Unknown" {
		err = errorf(http.StatusNotImplemented, "NotImplemented", "ossfake does not serve %s %s", r.Method, r.URL.RequestURI())
	}
	if err != nil {
		s.writeError(rec, r, bucketName, key, err)
	} else {
		s.mu.Lock()
		fault := s.takeFault(op)
		if fault == nil || fault.AfterApply {
			target := http.ResponseWriter(rec)
			if fault != nil {
				target = httptest.NewRecorder()
			}
			if e := s.do(target, r, op, bucketName, key, body); e != nil {
				if fault == nil {
					s.writeError(rec, r, bucketName, key, e)
				}
			}
		}
		s.mu.Unlock()
		if fault != nil {
			s.writeError(rec, r, bucketName, key, errorf(fault.Status, fault.Code, "injected fault"))
		}
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	s.mu.Lock()
	s.log = append(s.log, Request{Op: op, Bucket: bucketName, Key: key, Status: rec.status, Code: rec.code})
	s.mu.Unlock()
}

// takeFault pops a queued fault for op. s.mu is held.
func (s *Server) takeFault(op string) *Fault {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Op == op && f.Count > 0 {
			f.Count--
			c := *f
			return &c
		}
	}
	return nil
}

func operation(r *http.Request, key string) string {
	q := r.URL.Query()
	switch {
	case key == "" && r.Method == http.MethodGet && q.Has("versioning"):
		return "GetBucketVersioning"
	case key == "" && r.Method == http.MethodGet && q.Get("list-type") == "2":
		return "ListObjectsV2"
	case key == "" && r.Method == http.MethodGet && q.Has("bucketInfo"):
		return "GetBucketInfo"
	case key == "" && r.Method == http.MethodPut && q.Has("encryption"):
		return "PutBucketEncryption"
	case key == "" && r.Method == http.MethodPut && q.Has("lifecycle"):
		return "PutBucketLifecycle"
	case key == "" && r.Method == http.MethodGet && q.Has("lifecycle"):
		return "GetBucketLifecycle"
	case key == "" && r.Method == http.MethodPut && q.Has("acl"):
		return "PutBucketAcl"
	case key == "" && r.Method == http.MethodPut && len(q) == 0:
		return "PutBucket"
	case key == "" || len(q) > 0: // other sub-resources: ?acl, ?tagging, ...
		return "Unknown"
	}
	switch r.Method {
	case http.MethodPut:
		return "PutObject"
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	}
	return "Unknown"
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
	Key       string   `xml:"Key,omitempty"`
}

func (s *Server) writeError(w *recorder, r *http.Request, bucketName, key string, err error) {
	e, ok := err.(*Error)
	if !ok {
		e = errorf(http.StatusBadRequest, "InvalidRequest", "%v", err)
	}
	body, _ := xml.Marshal(xmlError{
		Code:      e.Code,
		Message:   e.Message,
		RequestID: w.Header().Get("x-oss-request-id"),
		HostID:    r.Host,
		Key:       key,
	})
	body = append([]byte(xml.Header), body...)
	w.code = e.Code
	w.Header().Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead { // no body: OSS sends the error in a header
		w.Header().Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		w.WriteHeader(e.Status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// do runs one operation. s.mu is held.
func (s *Server) do(w http.ResponseWriter, r *http.Request, op, bucketName, key string, body []byte) error {
	if slices.Contains(s.cfg.Foreign, bucketName) {
		if op == "PutBucket" {
			return errorf(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
		}
		return errorf(http.StatusForbidden, "AccessDenied", "The bucket you access does not belong to you.")
	}
	b := s.buckets[bucketName]
	if op == "PutBucket" {
		if b != nil {
			return errorf(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
		}
		acl := r.Header.Get("x-oss-acl")
		if acl == "" {
			acl = "private"
		}
		s.buckets[bucketName] = &bucket{acl: acl, objects: map[string]object{}}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if b == nil {
		return errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.")
	}
	switch op {
	case "GetBucketInfo":
		s.bucketInfo(w, bucketName, b)
	case "PutBucketAcl":
		b.acl = r.Header.Get("x-oss-acl")
		w.WriteHeader(http.StatusOK)
	case "PutBucketEncryption":
		return putBucketEncryption(w, b, body)
	case "PutBucketLifecycle":
		return putBucketLifecycle(w, b, body)
	case "GetBucketLifecycle":
		if b.lifecycle == nil {
			return errorf(http.StatusNotFound, "NoSuchLifecycle", "No Row found in Lifecycle Table.")
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		w.Write(b.lifecycle)
	case "GetBucketVersioning":
		type status struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
			Status  string   `xml:"Status,omitempty"`
		}
		writeXML(w, status{Status: b.versioning})
	case "ListObjectsV2":
		return s.list(w, r, bucketName, b)
	case "PutObject":
		return s.put(w, r, b, key, body)
	case "GetObject", "HeadObject":
		return getObject(w, r, op, b, key)
	case "DeleteObject":
		delete(b.objects, key)
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// bucketInfo answers GetBucketInfo.
func (s *Server) bucketInfo(w http.ResponseWriter, bucketName string, b *bucket) {
	type info struct {
		XMLName xml.Name `xml:"BucketInfo"`
		Bucket  struct {
			Name       string `xml:"Name"`
			Location   string `xml:"Location"`
			Region     string `xml:"Region"`
			ACL        string `xml:"AccessControlList>Grant"`
			Versioning string `xml:"Versioning,omitempty"`
			SSE        string `xml:"ServerSideEncryptionRule>SSEAlgorithm"`
		} `xml:"Bucket"`
	}
	var v info
	v.Bucket.Name, v.Bucket.Location, v.Bucket.Region = bucketName, "oss-"+s.cfg.Region, s.cfg.Region
	v.Bucket.ACL, v.Bucket.Versioning, v.Bucket.SSE = b.acl, b.versioning, b.sse
	if v.Bucket.SSE == "" {
		v.Bucket.SSE = "None"
	}
	writeXML(w, v)
}

// putBucketEncryption takes a bucket's default encryption: AES256, KMS or SM4.
func putBucketEncryption(w http.ResponseWriter, b *bucket, body []byte) error {
	var rule struct {
		Algorithm string `xml:"ApplyServerSideEncryptionByDefault>SSEAlgorithm"`
	}
	if xml.Unmarshal(body, &rule) != nil || (rule.Algorithm != "AES256" && rule.Algorithm != "KMS" && rule.Algorithm != "SM4") {
		return errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	b.sse = rule.Algorithm
	w.WriteHeader(http.StatusOK)
	return nil
}

// putBucketLifecycle keeps a bucket's lifecycle rules as sent.
func putBucketLifecycle(w http.ResponseWriter, b *bucket, body []byte) error {
	var conf struct {
		Rules []struct {
			ID     string `xml:"ID"`
			Status string `xml:"Status"`
		} `xml:"Rule"`
	}
	if xml.Unmarshal(body, &conf) != nil || len(conf.Rules) == 0 {
		return errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	b.lifecycle = slices.Clone(body)
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObject answers GetObject and HeadObject, conditional on If-None-Match.
func getObject(w http.ResponseWriter, r *http.Request, op string, b *bucket, key string) error {
	o, ok := b.objects[key]
	if !ok {
		return errorf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	h := w.Header()
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Trim(inm, `"`) == strings.Trim(o.etag, `"`) {
		// Conditional read of an unchanged object: 304, no body.
		h.Set("ETag", o.etag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	for k, v := range o.meta {
		h[k] = v
	}
	h.Set("Content-Type", o.contentType)
	h.Set("Content-Length", strconv.Itoa(len(o.data)))
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.Format(http.TimeFormat))
	h.Set("x-oss-object-type", "Normal")
	h.Set("x-oss-storage-class", "Standard")
	h.Set("x-oss-hash-crc64ecma", crc(o.data))
	if o.versionID != "" {
		h.Set("x-oss-version-id", o.versionID)
	}
	w.WriteHeader(http.StatusOK)
	if op == "GetObject" {
		w.Write(o.data)
	}
	return nil
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, b *bucket, key string, body []byte) error {
	_, exists := b.objects[key]
	// Versioned buckets ignore forbid-overwrite, as OSS does.
	if exists && b.versioning == "" && strings.EqualFold(r.Header.Get("x-oss-forbid-overwrite"), "true") {
		return errorf(http.StatusConflict, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
	}
	sum := md5.Sum(body)
	if m := r.Header.Get("Content-MD5"); m != "" && m != base64.StdEncoding.EncodeToString(sum[:]) {
		return errorf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
	}
	o := object{
		data:        slices.Clone(body),
		etag:        `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`,
		contentType: r.Header.Get("Content-Type"),
		meta:        http.Header{},
		modified:    time.Now().UTC(),
	}
	if o.contentType == "" {
		o.contentType = "application/octet-stream"
	}
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-oss-meta-") {
			o.meta[k] = slices.Clone(v)
		}
	}
	s.seq++
	if b.versioning == "Enabled" {
		o.versionID = fmt.Sprintf("CAEQ%020d", s.seq)
	}
	b.objects[key] = o
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("x-oss-hash-crc64ecma", crc(body))
	if o.versionID != "" {
		h.Set("x-oss-version-id", o.versionID)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type listResult struct {
	XMLName               xml.Name   `xml:"ListBucketResult"`
	Name                  string     `xml:"Name"`
	Prefix                string     `xml:"Prefix"`
	StartAfter            string     `xml:"StartAfter,omitempty"`
	MaxKeys               int        `xml:"MaxKeys"`
	EncodingType          string     `xml:"EncodingType,omitempty"`
	IsTruncated           bool       `xml:"IsTruncated"`
	KeyCount              int        `xml:"KeyCount"`
	ContinuationToken     string     `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string     `xml:"NextContinuationToken,omitempty"`
	Contents              []listItem `xml:"Contents"`
}

type listItem struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Type         string `xml:"Type"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, bucketName string, b *bucket) error {
	q := r.URL.Query()
	if q.Get("delimiter") != "" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "ossfake does not serve delimiter")
	}
	maxKeys := 100
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(http.StatusBadRequest, "InvalidArgument", "max-keys must be 1 to 1000")
		}
		maxKeys = n
	}
	maxKeys = min(maxKeys, s.cfg.PageSize)
	prefix, token := q.Get("prefix"), q.Get("continuation-token")
	after := q.Get("start-after")
	if token != "" {
		k, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return errorf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
		}
		after = string(k)
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	enc := func(v string) string { return v }
	res := listResult{Name: bucketName, MaxKeys: maxKeys}
	if q.Get("encoding-type") == "url" {
		enc = url.QueryEscape
		res.EncodingType = "url"
	}
	if len(keys) > maxKeys {
		keys = keys[:maxKeys]
		res.IsTruncated = true
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(keys[len(keys)-1]))
	}
	res.Prefix = enc(prefix)
	res.StartAfter = enc(q.Get("start-after"))
	res.ContinuationToken = enc(token)
	res.NextContinuationToken = enc(res.NextContinuationToken)
	res.KeyCount = len(keys)
	for _, k := range keys {
		o := b.objects[k]
		res.Contents = append(res.Contents, listItem{
			Key:          enc(k),
			LastModified: o.modified.Format("2006-01-02T15:04:05.000Z"),
			ETag:         o.etag,
			Type:         "Normal",
			Size:         len(o.data),
			StorageClass: "Standard",
		})
	}
	writeXML(w, res)
	return nil
}

func writeXML(w http.ResponseWriter, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		panic(err) // our own types always marshal
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func crc(data []byte) string {
	return strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10)
}

// verify checks the request's OSS4-HMAC-SHA256 Authorization header as
// OSS does: the access key, the security token, the date and scope, then
// the signature over the canonical request.
func (s *Server) verify(r *http.Request, bucketName, key string, body []byte) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errorf(http.StatusForbidden, "AccessDenied", "You have no right to access this object because of bucket acl.")
	}
	rest, ok := strings.CutPrefix(auth, "OSS4-HMAC-SHA256 ")
	if !ok {
		return errorf(http.StatusForbidden, "AccessDenied", "ossfake accepts only OSS4-HMAC-SHA256 signatures")
	}
	var credential, signature string
	var additional []string
	for field := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Credential":
			credential = v
		case "AdditionalHeaders":
			additional = strings.Split(v, ";")
		case "Signature":
			signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || signature == "" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "Authorization header is invalid.")
	}
	if scope[0] != s.cfg.AccessKeyID {
		return errorf(http.StatusForbidden, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
	}
	if r.Header.Get("x-oss-security-token") != s.cfg.SecurityToken {
		return errorf(http.StatusForbidden, "InvalidSecurityToken", "The security token you provided is invalid.")
	}
	datetime := r.Header.Get("x-oss-date")
	t, err := time.Parse("20060102T150405Z", datetime)
	if err != nil {
		return errorf(http.StatusBadRequest, "InvalidArgument", "x-oss-date is missing or invalid.")
	}
	if d := time.Since(t); d > MaxSkew || d < -MaxSkew {
		return errorf(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	if scope[1] != t.Format("20060102") || scope[2] != s.cfg.Region || scope[3] != "oss" || scope[4] != "aliyun_v4_request" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "Invalid credential scope in Authorization header.")
	}
	payload := r.Header.Get("x-oss-content-sha256")
	if payload == "" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "x-oss-content-sha256 is missing.")
	}
	if payload != "UNSIGNED-PAYLOAD" {
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != payload {
			return errorf(http.StatusBadRequest, "InvalidDigest", "x-oss-content-sha256 does not match the body.")
		}
	}
	canonical := canonicalRequest(r, bucketName, key, additional, payload)
	cr := sha256.Sum256([]byte(canonical))
	stringToSign := "OSS4-HMAC-SHA256\n" + datetime + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(cr[:])
	k := []byte("aliyun_v4" + s.cfg.AccessKeySecret)
	for _, part := range scope[1:] {
		k = mac(k, part)
	}
	want := hex.EncodeToString(mac(k, stringToSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errorf(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalRequest rebuilds what the client signed: method, URI, sorted
// query, the signed headers (x-oss-*, Content-Type, Content-MD5 and the
// additional ones), the additional header names and the payload hash.
func canonicalRequest(r *http.Request, bucketName, key string, additional []string, payload string) string {
	uri := "/"
	if bucketName != "" {
		uri += bucketName + "/" + key
	}

	// The query as sent, not as parsed: the client signs its own encoding,
	// with '+' read as %20. A parameter without a value signs as its name.
	values := map[string]string{}
	var names []string
	for p := range strings.SplitSeq(strings.ReplaceAll(r.URL.RawQuery, "+", "%20"), "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		values[k] = v
		names = append(names, k)
	}
	sort.Strings(names)
	var query []string
	for _, k := range names {
		if values[k] == "" {
			query = append(query, k)
		} else {
			query = append(query, k+"="+values[k])
		}
	}

	extra := map[string]bool{}
	for _, h := range additional {
		extra[strings.ToLower(h)] = true
	}
	headers := map[string]string{}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") || lk == "content-type" || lk == "content-md5" || extra[lk] {
			trimmed := make([]string, len(vs))
			for i, v := range vs {
				trimmed[i] = strings.TrimSpace(v)
			}
			headers[lk] = strings.Join(trimmed, ",")
		}
	}
	if extra["host"] { // Go moves Host out of the header map
		headers["host"] = r.Host
	}
	var hb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		hb.WriteString(k + ":" + headers[k] + "\n")
	}

	return strings.Join([]string{
		r.Method,
		escapePath(uri),
		strings.Join(query, "&"),
		hb.String(),
		strings.Join(additional, ";"),
		payload,
	}, "\n")
}

// escapePath percent-encodes all but unreserved characters and '/'.
func escapePath(p string) string {
	var b bytes.Buffer
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
