// Package remote reads a team's policy bundle from OSS: one object, read
// whole (bounded by MaxFetch) and re-checked with a conditional GET, so an
// unchanged bundle costs one small request per invocation. It owns the
// fetch only: verifying and loading the bundle is the caller's (policies,
// checker), and it must not import them, nor the lifecycle's store beyond
// the OSS client and options that checker/state shares for its bucket.
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/vpncheck/vpncheck/checker/state"
)

// MaxFetch bounds an object read whole by Fetch.
const MaxFetch = 32 << 20

// ErrNotModified is Fetch's answer when the object still has the ETag the
// caller holds.
var ErrNotModified = errors.New("not modified")

// Fetch reads one OSS object ("oss://bucket/key") unless it still has
// etag: a conditional GET, so re-checking an unchanged object (a policy
// bundle, each invocation) costs one small request. It returns the content
// and its ETag, or ErrNotModified.
func Fetch(ctx context.Context, url string, opt state.Options, etag string) ([]byte, string, error) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(url, "oss://"), "/")
	switch {
	case !strings.HasPrefix(url, "oss://") || key == "":
		return nil, "", fmt.Errorf("fetch %s: want oss://bucket/key", url)
	case !oss.IsValidBucketName(&bucket):
		return nil, "", fmt.Errorf("fetch %s: invalid bucket name", url)
	case opt.Region == "" || opt.Credential == nil:
		return nil, "", fmt.Errorf("fetch %s: no OSS region or credential", url)
	}
	client := state.NewOSSClient(opt)
	req := &oss.GetObjectRequest{Bucket: &bucket, Key: &key}
	if etag != "" {
		req.IfNoneMatch = &etag
	}
	res, err := client.GetObject(ctx, req)
	if err != nil {
		var se *oss.ServiceError
		if errors.As(err, &se) && se.StatusCode == 304 {
			return nil, etag, ErrNotModified
		}
		return nil, "", fmt.Errorf("fetch %s: %w", url, state.OSSError(err))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxFetch+1))
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: read body: %w", url, err)
	}
	if len(data) > MaxFetch {
		return nil, "", fmt.Errorf("fetch %s: larger than %d MiB", url, MaxFetch>>20)
	}
	return data, oss.ToString(res.ETag), nil
}
