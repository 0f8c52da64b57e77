package state

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscred "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/retry"
	"github.com/aliyun/credentials-go/credentials"
)

// writerMeta is the user metadata that marks which Create wrote an object
// (x-oss-meta-vpncheck-writer), so that a Create whose first attempt was
// stored but whose answer was lost recognises its own object when the
// SDK's retry meets 409 FileAlreadyExists.
const writerMeta = "vpncheck-writer"

// Timeouts and retries for each OSS call. The SDK's standard retryer
// retries 5xx, 401, 408, 429, RequestTimeTooSkewed, BadRequest and
// network errors, never 403, 404 or 409.
const (
	ossConnectTimeout = 5 * time.Second
	ossReadTimeout    = 20 * time.Second
	ossAttempts       = 3
	ossMaxBackoff     = 2 * time.Second
)

type ossStore struct {
	client  *oss.Client
	retryer retry.Retryer
	bucket  string
	root    string // "" or "some/prefix/"
}

// parseOSS reads oss://bucket[/prefix] into the bucket and the root ("" or
// "prefix/").
func parseOSS(spec string) (bucket, root string, err error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(spec, "oss://"), "/")
	if !oss.IsValidBucketName(&bucket) {
		return "", "", fmt.Errorf("open state store %s: %w: invalid bucket name %q", spec, ErrLocation, bucket)
	}
	if prefix = strings.TrimSuffix(prefix, "/"); prefix != "" {
		if err := checkKey(prefix); err != nil {
			return "", "", fmt.Errorf("open state store %s: prefix: %w", spec, err)
		}
		root = prefix + "/"
	}
	return bucket, root, nil
}

func openOSS(ctx context.Context, spec string, opt Options) (*ossStore, error) {
	bucket, root, err := parseOSS(spec)
	if err != nil {
		return nil, err
	}
	s := &ossStore{bucket: bucket, root: root, retryer: retry.NewStandard(func(o *retry.RetryOptions) {
		o.MaxAttempts = ossAttempts
		o.MaxBackoff = ossMaxBackoff
	})}
	if opt.Region == "" {
		return nil, fmt.Errorf("open %s: %w: no OSS region", s, ErrLocation)
	}
	if opt.Credential == nil {
		return nil, fmt.Errorf("open %s: no credential", s)
	}
	s.client = newOSSClient(opt, s.retryer)

	res, err := s.client.GetBucketVersioning(ctx, &oss.GetBucketVersioningRequest{Bucket: &s.bucket})
	if serviceCode(err) == "NoSuchBucket" {
		return nil, fmt.Errorf("open %s: %w: get bucket versioning: %w", s, ErrLocation, ossError(err))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: get bucket versioning: %w", s, ossError(err))
	}
	if v := oss.ToString(res.VersionStatus); v == "Enabled" || v == "Suspended" {
		return nil, fmt.Errorf("open %s: %w (%s): OSS ignores create-only writes there; use a bucket whose versioning was never enabled", s, ErrVersioned, v)
	}
	return s, nil
}

// NewOSSClient is an OSS client built as the store builds its own (no SDK
// debug log, bounded timeouts and retries), for other jobs on the same
// bucket: vpncheck setup and doctor.
func NewOSSClient(opt Options) *oss.Client {
	return newOSSClient(opt, retry.NewStandard(func(o *retry.RetryOptions) {
		o.MaxAttempts = ossAttempts
		o.MaxBackoff = ossMaxBackoff
	}))
}

// newOSSClient builds an OSS client from the options.
func newOSSClient(opt Options, retryer retry.Retryer) *oss.Client {
	// Config is built field by field, not with oss.LoadDefaultConfig: that
	// reads OSS_SDK_LOG_LEVEL, and the SDK's debug log prints request
	// headers, the security token included.
	cfg := oss.NewConfig().
		WithRegion(opt.Region).
		WithCredentialsProvider(&credProvider{c: opt.Credential}).
		WithConnectTimeout(ossConnectTimeout).
		WithReadWriteTimeout(ossReadTimeout).
		WithRetryer(retryer)
	if opt.Endpoint != "" {
		cfg.WithEndpoint(opt.Endpoint)
	} else if opt.Internal {
		cfg.WithUseInternalEndpoint(true)
	}
	return oss.NewClient(cfg)
}

func (s *ossStore) String() string {
	return "oss://" + s.bucket + "/" + strings.TrimSuffix(s.root, "/")
}

func (s *ossStore) name(key string) string { return "oss://" + s.bucket + "/" + s.root + key }

func (s *ossStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	full := s.root + key
	res, err := s.client.GetObject(ctx, &oss.GetObjectRequest{Bucket: &s.bucket, Key: &full})
	if err != nil {
		if serviceCode(err) == "NoSuchKey" {
			return nil, fmt.Errorf("get %s: %w", s.name(key), ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", s.name(key), ossError(err))
	}
	defer res.Body.Close()
	if res.ContentLength > MaxObject {
		return nil, fmt.Errorf("get %s: %d bytes, over %d MiB: %w", s.name(key), res.ContentLength, MaxObject>>20, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxObject+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: read body: %w", s.name(key), err)
	}
	if len(data) > MaxObject {
		return nil, fmt.Errorf("get %s: over %d MiB: %w", s.name(key), MaxObject>>20, ErrTooLarge)
	}
	// The SDK checks CRC-64 on uploads only.
	if want := oss.ToString(res.HashCRC64); want != "" {
		if got := strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10); got != want {
			return nil, fmt.Errorf("get %s: CRC-64 %s, OSS says %s", s.name(key), got, want)
		}
	}
	return data, nil
}

func (s *ossStore) Create(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	full := s.root + key
	nonce := make([]byte, 16)
	rand.Read(nonce)
	writer := hex.EncodeToString(nonce)
	sum := md5.Sum(data)
	req := &oss.PutObjectRequest{
		Bucket:          &s.bucket,
		Key:             &full,
		ForbidOverwrite: oss.Ptr("true"),
		// OSS refuses a body that does not match: a corrupt upload must
		// never be stored, as it could not be replaced.
		ContentMD5: oss.Ptr(base64.StdEncoding.EncodeToString(sum[:])),
		Metadata:   map[string]string{writerMeta: writer},
	}
	// Retried here, not in the SDK: a 409 after a failed attempt may be
	// this writer's own object, stored but with its answer lost.
	once := func(o *oss.Options) { o.Retryer = retry.NopRetryer{} }
	attempt := 1
	for ; ; attempt++ {
		req.Body = bytes.NewReader(data)
		_, err := s.client.PutObject(ctx, req, once)
		if err == nil {
			return nil
		}
		if serviceCode(err) == "FileAlreadyExists" {
			break
		}
		if attempt == ossAttempts || !s.retryer.IsErrorRetryable(err) || ctx.Err() != nil {
			return fmt.Errorf("create %s: %w", s.name(key), ossError(err))
		}
		delay, _ := s.retryer.RetryDelay(attempt, err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("create %s: %w (after %v)", s.name(key), ctx.Err(), ossError(err))
		case <-time.After(delay):
		}
	}
	if attempt == 1 {
		return fmt.Errorf("create %s: %w", s.name(key), ErrExists)
	}
	head, err := s.client.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: &s.bucket, Key: &full})
	switch {
	case serviceCode(err) == "NoSuchKey":
		return fmt.Errorf("create %s: outcome unknown: a retry found the key taken, and it is gone now", s.name(key))
	case err != nil:
		return fmt.Errorf("create %s: outcome unknown: a retry found the key taken, and reading its writer: %w", s.name(key), ossError(err))
	case head.Metadata[writerMeta] == writer:
		return nil // our own earlier attempt
	}
	return fmt.Errorf("create %s: %w", s.name(key), ErrExists)
}

func (s *ossStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	full := s.root + prefix
	var keys []string
	var token *string
	for page := 1; ; page++ {
		res, err := s.client.ListObjectsV2(ctx, &oss.ListObjectsV2Request{
			Bucket:            &s.bucket,
			Prefix:            &full,
			MaxKeys:           1000,
			ContinuationToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list oss://%s/%s page %d: %w", s.bucket, full, page, ossError(err))
		}
		for _, o := range res.Contents {
			if k, ok := strings.CutPrefix(oss.ToString(o.Key), s.root); ok {
				keys = append(keys, k)
			}
		}
		if !res.IsTruncated {
			break
		}
		if oss.ToString(res.NextContinuationToken) == "" {
			return nil, fmt.Errorf("list oss://%s/%s page %d: truncated without a continuation token", s.bucket, full, page)
		}
		token = res.NextContinuationToken
	}
	slices.Sort(keys)
	return keys, nil
}

func (s *ossStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	full := s.root + key
	_, err := s.client.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: &s.bucket, Key: &full})
	if err != nil && serviceCode(err) != "NoSuchKey" {
		return fmt.Errorf("delete %s: %w", s.name(key), ossError(err))
	}
	return nil
}

// credProvider adapts a credentials-go credential to the OSS SDK. The SDK
// asks for credentials on every request, from many goroutines; the
// default chain records the provider it used without a lock.
type credProvider struct {
	mu sync.Mutex
	c  credentials.Credential
}

func (p *credProvider) GetCredentials(context.Context) (osscred.Credentials, error) {
	p.mu.Lock()
	m, err := p.c.GetCredential()
	p.mu.Unlock()
	if err != nil {
		return osscred.Credentials{}, fmt.Errorf("get credentials: %w", err)
	}
	return osscred.Credentials{
		AccessKeyID:     deref(m.AccessKeyId),
		AccessKeySecret: deref(m.AccessKeySecret),
		SecurityToken:   deref(m.SecurityToken),
	}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func serviceCode(err error) string {
	var se *oss.ServiceError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

// serviceError prints an OSS error on one line; the SDK's own text spans
// eight.
type serviceError struct{ se *oss.ServiceError }

func (e serviceError) Error() string {
	return fmt.Sprintf("%d %s: %s (request id %s)", e.se.StatusCode, e.se.Code, strings.TrimSuffix(e.se.Message, "."), e.se.RequestID)
}

func (e serviceError) Unwrap() error { return e.se }

// OSSError shortens an OSS service error to one line (status, code,
// message, request id); other errors are returned as they are.
func OSSError(err error) error { return ossError(err) }

func ossError(err error) error {
	var se *oss.ServiceError
	if errors.As(err, &se) {
		return serviceError{se}
	}
	return err
}
