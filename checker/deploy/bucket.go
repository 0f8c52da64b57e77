package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
)

// LifecycleRuleID names the lifecycle rule setup puts on the state bucket.
const LifecycleRuleID = "vpncheck-abort-multipart"

// ErrBucketTaken is wrapped when the state bucket's name belongs to
// another account: bucket names are global.
var ErrBucketTaken = errors.New("bucket name taken")

// ErrVersioned is wrapped when the state bucket has versioning: OSS
// ignores create-only writes there, which vpncheck's state relies on.
var ErrVersioned = errors.New("bucket has versioning")

// lifecycleRule aborts multipart uploads left behind after a day. The
// state's generations get no age rule: vpncheck prunes them itself,
// keeping the newest few, and an age rule would delete the newest
// generation of a function that stopped running for a while.
func (c Config) lifecycleRule() oss.LifecycleRule {
	return oss.LifecycleRule{
		ID: oss.Ptr(LifecycleRuleID), Status: oss.Ptr("Enabled"), Prefix: oss.Ptr(c.StatePrefix + "/"),
		AbortMultipartUpload: &oss.LifecycleRuleAbortMultipartUpload{Days: oss.Ptr(int32(1))},
	}
}

// suggestBucket is a name likely free: the wanted one with the account id.
func suggestBucket(name, account string) string {
	s := name + "-" + account
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func ossCode(err error) (code, message string) {
	var se *oss.ServiceError
	if errors.As(err, &se) {
		return se.Code, se.Message
	}
	return "", ""
}

// ossErr names the action a refused call lacked, and shortens the SDK's
// error to its code and message.
func ossErr(action string, err error) error {
	var se *oss.ServiceError
	if !errors.As(err, &se) {
		return err
	}
	e := fmt.Errorf("%s (HTTP %d, request id %s): %s", se.Code, se.StatusCode, se.RequestID, se.Message)
	if se.Code == "AccessDenied" {
		return fmt.Errorf("%w: the identity running vpncheck lacks %s (%v)", ErrNoPermission, action, e)
	}
	return e
}

// taken is the error for a bucket name that belongs to someone else.
func (c Config) taken() error {
	return fmt.Errorf("state bucket %s: %w: OSS bucket names are global and another account owns this one; choose another with --state-bucket, for example %s",
		c.StateBucket, ErrBucketTaken, suggestBucket(c.StateBucket, c.AccountID))
}

// bucketSteps plans the state bucket: private, never versioned, encrypted
// at rest (AES256), with the lifecycle rule.
func bucketSteps(ctx context.Context, c Config, cl *oss.Client) ([]Step, error) {
	if cl == nil {
		return nil, errors.New("state bucket: no OSS client")
	}
	b := c.StateBucket
	info, err := cl.GetBucketInfo(ctx, &oss.GetBucketInfoRequest{Bucket: oss.Ptr(b)})
	code, msg := ossCode(err)
	switch {
	case code == "NoSuchBucket":
		return []Step{{Change: Create, What: "create bucket " + b,
			Why: "the function's state: private, versioning never enabled (vpncheck refuses versioned buckets), AES256 encryption at rest, multipart leftovers removed after a day",
			apply: func(ctx context.Context) error {
				if err := createBucket(ctx, c, cl); err != nil && !errors.Is(err, ErrBucketTaken) {
					return fmt.Errorf("create bucket %s: %w", b, err)
				} else if err != nil {
					return err
				}
				return nil
			}}}, nil
	case code == "AccessDenied" && strings.Contains(msg, "does not belong to you"):
		return nil, c.taken()
	case err != nil:
		return nil, fmt.Errorf("state bucket %s: get bucket info: %w", b, ossErr("oss:GetBucketInfo", err))
	}
	bi := info.BucketInfo
	if v := oss.ToString(bi.Versioning); v == "Enabled" || v == "Suspended" {
		return nil, fmt.Errorf("state bucket %s: %w (%s): OSS ignores create-only writes there; choose a bucket whose versioning was never enabled with --state-bucket", b, ErrVersioned, v)
	}
	var steps []Step
	if acl := oss.ToString(bi.ACL); acl != "private" {
		steps = append(steps, Step{Change: Update, What: "set the ACL of bucket " + b + " to private", Why: "it is " + acl + ": the state is nobody else's",
			apply: func(ctx context.Context) error {
				if _, err := cl.PutBucketAcl(ctx, &oss.PutBucketAclRequest{Bucket: oss.Ptr(b), Acl: oss.BucketACLPrivate}); err != nil {
					return fmt.Errorf("set the ACL of bucket %s: %w", b, ossErr("oss:PutBucketAcl", err))
				}
				return nil
			}})
	}
	if sse := oss.ToString(bi.SseRule.SSEAlgorithm); sse == "" || sse == "None" {
		steps = append(steps, Step{Change: Update, What: "encrypt bucket " + b + " at rest (AES256)", Why: "it has no default server-side encryption",
			apply: func(ctx context.Context) error {
				if err := encrypt(ctx, cl, b); err != nil {
					return fmt.Errorf("encrypt bucket %s: %w", b, err)
				}
				return nil
			}})
	}
	lc, err := cl.GetBucketLifecycle(ctx, &oss.GetBucketLifecycleRequest{Bucket: oss.Ptr(b)})
	var rules []oss.LifecycleRule
	switch code, _ := ossCode(err); {
	case code == "NoSuchLifecycle":
	case err != nil:
		return nil, fmt.Errorf("state bucket %s: get lifecycle: %w", b, ossErr("oss:GetBucketLifecycle", err))
	case lc.LifecycleConfiguration != nil:
		rules = lc.LifecycleConfiguration.Rules
	}
	has := false
	for _, r := range rules {
		has = has || oss.ToString(r.ID) == LifecycleRuleID
	}
	if !has {
		steps = append(steps, Step{Change: Update, What: "add lifecycle rule " + LifecycleRuleID + " to bucket " + b, Why: "remove multipart leftovers under " + c.StatePrefix + "/ after a day (the bucket's other rules stay)",
			apply: func(ctx context.Context) error {
				if err := putLifecycle(ctx, cl, b, append(rules, c.lifecycleRule())); err != nil {
					return fmt.Errorf("put the lifecycle of bucket %s: %w", b, err)
				}
				return nil
			}})
	}
	if len(steps) == 0 {
		steps = append(steps, Step{What: "bucket " + b, Why: "already there: private, not versioned, encrypted, with the lifecycle rule"})
	}
	return steps, nil
}

func createBucket(ctx context.Context, c Config, cl *oss.Client) error {
	_, err := cl.PutBucket(ctx, &oss.PutBucketRequest{Bucket: oss.Ptr(c.StateBucket), Acl: oss.BucketACLPrivate})
	if code, _ := ossCode(err); code == "BucketAlreadyExists" {
		return c.taken()
	}
	if err != nil {
		return ossErr("oss:PutBucket", err)
	}
	if err := encrypt(ctx, cl, c.StateBucket); err != nil {
		return err
	}
	return putLifecycle(ctx, cl, c.StateBucket, []oss.LifecycleRule{c.lifecycleRule()})
}

func encrypt(ctx context.Context, cl *oss.Client, b string) error {
	_, err := cl.PutBucketEncryption(ctx, &oss.PutBucketEncryptionRequest{Bucket: oss.Ptr(b),
		ServerSideEncryptionRule: &oss.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &oss.ApplyServerSideEncryptionByDefault{SSEAlgorithm: oss.Ptr("AES256")}}})
	return ossErr("oss:PutBucketEncryption", err)
}

func putLifecycle(ctx context.Context, cl *oss.Client, b string, rules []oss.LifecycleRule) error {
	_, err := cl.PutBucketLifecycle(ctx, &oss.PutBucketLifecycleRequest{Bucket: oss.Ptr(b), LifecycleConfiguration: &oss.LifecycleConfiguration{Rules: rules}})
	return ossErr("oss:PutBucketLifecycle", err)
}
