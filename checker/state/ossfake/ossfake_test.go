package ossfake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/retry"

	"github.com/vpncheck/vpncheck/checker/state/ossfake"
)

const (
	keyID  = "LTAIfakeKeyID"
	secret = "fake-secret-value"
	token  = "fake-sts-token"
	bkt    = "bucket"
)

// client is the real SDK client pointed at the fake.
func client(f *ossfake.Server, region, id, sk, tok string, fns ...func(*oss.Config)) *oss.Client {
	cfg := oss.NewConfig().
		WithRegion(region).
		WithEndpoint(f.URL).
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, sk, tok))
	for _, fn := range fns {
		fn(cfg)
	}
	return oss.NewClient(cfg)
}

func code(err error) string {
	var se *oss.ServiceError
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "non-service error: " + err.Error()
	}
	return ""
}

func put(ctx context.Context, c *oss.Client, key, data string, forbid bool) error {
	req := &oss.PutObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr(key), Body: strings.NewReader(data)}
	if forbid {
		req.ForbidOverwrite = oss.Ptr("true")
	}
	_, err := c.PutObject(ctx, req)
	return err
}

func TestSignature(t *testing.T) {
	tests := []struct {
		name           string
		serverToken    string
		region, id, sk string
		clientToken    string
		want           string
	}{
		{"right key", "", "cn-hangzhou", keyID, secret, "", ""},
		{"wrong secret", "", "cn-hangzhou", keyID, "wrong-secret", "", "SignatureDoesNotMatch"},
		{"unknown key id", "", "cn-hangzhou", "LTAIother", secret, "", "InvalidAccessKeyId"},
		{"wrong region", "", "cn-beijing", keyID, secret, "", "InvalidArgument"},
		{"token not expected", "", "cn-hangzhou", keyID, secret, token, "InvalidSecurityToken"},
		{"sts right token", token, "cn-hangzhou", keyID, secret, token, ""},
		{"sts wrong token", token, "cn-hangzhou", keyID, secret, "other-token", "InvalidSecurityToken"},
		{"sts no token", token, "cn-hangzhou", keyID, secret, "", "InvalidSecurityToken"},
		{"sts wrong secret", token, "cn-hangzhou", keyID, "wrong-secret", token, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, SecurityToken: tt.serverToken, Buckets: []string{bkt}})
			c := client(f, tt.region, tt.id, tt.sk, tt.clientToken)
			ctx := context.Background()
			// An object op, a bucket op with a query, and a HEAD (error in a header).
			err := put(ctx, c, "dir/a b+ü.json", "{}", true)
			if got := code(err); got != tt.want {
				t.Fatalf("PutObject: code %q, want %q (%v)", got, tt.want, err)
			}
			_, err = c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr(bkt), Prefix: oss.Ptr("dir/a b")})
			if got := code(err); got != tt.want {
				t.Fatalf("ListObjectsV2: code %q, want %q (%v)", got, tt.want, err)
			}
			_, err = c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("dir/a b+ü.json")})
			if got := code(err); got != tt.want {
				t.Fatalf("HeadObject: code %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

// tamper changes a request after the SDK signed it.
type tamper struct {
	fn func(*http.Request)
}

func (t tamper) Do(r *http.Request) (*http.Response, error) {
	t.fn(r)
	return http.DefaultClient.Do(r)
}

func TestSignatureCoversRequest(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*http.Request)
	}{
		{"query", func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "prefix=a", "prefix=b", 1) }},
		{"x-oss header", func(r *http.Request) { r.Header.Set("x-oss-meta-who", "mallory") }},
		{"content-type", func(r *http.Request) { r.Header.Set("Content-Type", "text/evil") }},
		{"path", func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, "/k", "/x", 1) }},
		{"date", func(r *http.Request) {
			d, _ := time.Parse("20060102T150405Z", r.Header.Get("x-oss-date"))
			r.Header.Set("x-oss-date", d.Add(time.Second).Format("20060102T150405Z"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, Buckets: []string{bkt}})
			c := client(f, "cn-hangzhou", keyID, secret, "", func(cfg *oss.Config) {
				cfg.HttpClient = tamper{tt.fn}
				cfg.Retryer = retry.NopRetryer{}
			})
			ctx := context.Background()
			_, lerr := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr(bkt), Prefix: oss.Ptr("a")})
			perr := put(ctx, c, "k", "data", false)
			// Each tampering touches one request or both.
			codes := []string{code(lerr), code(perr)}
			for _, c := range codes {
				if c != "" && c != "SignatureDoesNotMatch" {
					t.Fatalf("tampered requests answered %q", codes)
				}
			}
			if !slices.Contains(codes, "SignatureDoesNotMatch") {
				t.Fatalf("tampered requests answered %q, want SignatureDoesNotMatch", codes)
			}
			if _, _, ok := f.Object(bkt, "x"); ok {
				t.Fatal("a tampered PutObject was stored")
			}
		})
	}
}

func TestForbidOverwrite(t *testing.T) {
	for _, versioning := range []string{"", "Enabled", "Suspended"} {
		t.Run("versioning="+versioning, func(t *testing.T) {
			f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, Buckets: []string{bkt}})
			f.SetVersioning(bkt, versioning)
			c := client(f, "cn-hangzhou", keyID, secret, "")
			ctx := context.Background()
			if err := put(ctx, c, "k", "first", true); err != nil {
				t.Fatal(err)
			}
			err := put(ctx, c, "k", "second", true)
			want, wantData := "FileAlreadyExists", "first"
			if versioning != "" { // OSS ignores forbid-overwrite on versioned buckets
				want, wantData = "", "second"
			}
			if got := code(err); got != want {
				t.Fatalf("second PutObject: code %q, want %q", got, want)
			}
			var se *oss.ServiceError
			if errors.As(err, &se) && se.StatusCode != http.StatusConflict {
				t.Errorf("status %d, want 409", se.StatusCode)
			}
			if data, _, _ := f.Object(bkt, "k"); string(data) != wantData {
				t.Errorf("object holds %q, want %q", data, wantData)
			}
			v, err := c.GetBucketVersioning(ctx, &oss.GetBucketVersioningRequest{Bucket: oss.Ptr(bkt)})
			if err != nil || oss.ToString(v.VersionStatus) != versioning {
				t.Errorf("GetBucketVersioning = %q, %v; want %q", oss.ToString(v.VersionStatus), err, versioning)
			}
		})
	}
}

func TestObjects(t *testing.T) {
	f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, Buckets: []string{bkt}})
	c := client(f, "cn-hangzhou", keyID, secret, "")
	ctx := context.Background()

	_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("k")})
	if got := code(err); got != "NoSuchKey" {
		t.Fatalf("GetObject missing: code %q, want NoSuchKey", got)
	}
	_, err = c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("nobucket"), Key: oss.Ptr("k")})
	if got := code(err); got != "NoSuchBucket" {
		t.Fatalf("GetObject in a missing bucket: code %q, want NoSuchBucket", got)
	}
	res, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("k"), Body: strings.NewReader("hello"), Metadata: map[string]string{"who": "me"}})
	if err != nil { // the SDK checks the CRC-64 the fake returns
		t.Fatal(err)
	}
	_, etag, _ := f.Object(bkt, "k")
	if oss.ToString(res.ETag) != etag || etag != `"5D41402ABC4B2A76B9719D911017C592"` {
		t.Errorf("PutObject ETag %q, stored %q", oss.ToString(res.ETag), etag)
	}
	got, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("k")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(data) != "hello" || oss.ToString(got.ETag) != etag || got.Metadata["who"] != "me" {
		t.Errorf("GetObject = %q, ETag %q, metadata %v", data, oss.ToString(got.ETag), got.Metadata)
	}
	head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("k")})
	if err != nil || oss.ToString(head.ETag) != etag || head.ContentLength != 5 {
		t.Errorf("HeadObject = %+v, %v", head, err)
	}
	_, err = c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("k2"), Body: strings.NewReader("x"), ContentMD5: oss.Ptr("1B2M2Y8AsgTpgAmY7PhCfg==")})
	if got := code(err); got != "InvalidDigest" {
		t.Errorf("PutObject with a wrong Content-MD5: code %q, want InvalidDigest", got)
	}
	for range 2 { // deleting a missing key succeeds too
		if _, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr(bkt), Key: oss.Ptr("k")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, ok := f.Object(bkt, "k"); ok {
		t.Error("object still there after DeleteObject")
	}
	_, err = c.GetBucketAcl(ctx, &oss.GetBucketAclRequest{Bucket: oss.Ptr(bkt)})
	if got := code(err); got != "NotImplemented" {
		t.Errorf("GetBucketAcl: code %q, want NotImplemented", got)
	}
}

func TestListPages(t *testing.T) {
	f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, Buckets: []string{bkt}, PageSize: 2})
	c := client(f, "cn-hangzhou", keyID, secret, "")
	ctx := context.Background()
	want := []string{"p/a b", "p/a+b", "p/x/y", "p/ü", "p/~z"}
	for _, k := range append(slices.Clone(want), "other", "p") {
		if err := put(ctx, c, k, k, true); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	p := c.NewListObjectsV2Paginator(&oss.ListObjectsV2Request{Bucket: oss.Ptr(bkt), Prefix: oss.Ptr("p/"), MaxKeys: 100})
	pages := 0
	for p.HasNext() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range page.Contents {
			got = append(got, oss.ToString(o.Key))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
	if pages != 3 || f.Count("ListObjectsV2") != 3 {
		t.Errorf("%d pages, %d requests; want 3", pages, f.Count("ListObjectsV2"))
	}
}

func TestFaults(t *testing.T) {
	f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, Buckets: []string{bkt}})
	c := client(f, "cn-hangzhou", keyID, secret, "", func(cfg *oss.Config) {
		cfg.Retryer = retry.NewStandard(func(o *retry.RetryOptions) { o.BaseDelay, o.MaxBackoff = 1, 1 })
	})
	ctx := context.Background()

	// Two 503s, then success: the SDK's retryer absorbs them.
	f.Inject(ossfake.Fault{Op: "PutObject", Count: 2, Status: 503, Code: "ServiceUnavailable"})
	if err := put(ctx, c, "k", "v", true); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("PutObject"); n != 3 {
		t.Errorf("%d PutObject requests, want 3", n)
	}

	// Applied, answer lost: the retry meets the object it created.
	f.Inject(ossfake.Fault{Op: "PutObject", Count: 1, Status: 500, Code: "InternalError", AfterApply: true})
	err := put(ctx, c, "k2", "v", true)
	if got := code(err); got != "FileAlreadyExists" {
		t.Errorf("PutObject after a lost answer: code %q, want FileAlreadyExists", got)
	}
	if data, _, _ := f.Object(bkt, "k2"); !bytes.Equal(data, []byte("v")) {
		t.Errorf("k2 holds %q", data)
	}

	want := []ossfake.Request{
		{Op: "PutObject", Bucket: bkt, Key: "k", Status: 503, Code: "ServiceUnavailable"},
		{Op: "PutObject", Bucket: bkt, Key: "k", Status: 503, Code: "ServiceUnavailable"},
		{Op: "PutObject", Bucket: bkt, Key: "k", Status: 200},
		{Op: "PutObject", Bucket: bkt, Key: "k2", Status: 500, Code: "InternalError"},
		{Op: "PutObject", Bucket: bkt, Key: "k2", Status: 409, Code: "FileAlreadyExists"},
	}
	if got := f.Requests(); !slices.Equal(got, want) {
		t.Errorf("request log\n%+v\nwant\n%+v", got, want)
	}
}
