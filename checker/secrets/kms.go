package secrets

import (
	"context"
	"errors"
	"fmt"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/org"
)

// CodeNotFound is KMS's answer for a secret that does not exist.
const CodeNotFound = "Forbidden.ResourceNotFound"

// MaxAnswer bounds a GetSecretValue answer as read: a secret's value is
// tens of KB at most, and JSON escaping at most sextuples it.
const MaxAnswer = 1 << 20

// KMS reads secrets with GetSecretValue (kms-20160120), the shared KMS
// gateway of one region. It is safe for concurrent use.
type KMS struct {
	client *org.Client
}

// NewKMS returns a reader signing with cred in region. endpoint, if not
// empty, overrides the regional one (kms.REGION.aliyuncs.com): "host[:port]"
// (HTTPS) or "scheme://host[:port]" (a test double).
func NewKMS(cred credentials.Credential, region, endpoint string) (*KMS, error) {
	if region == "" && endpoint == "" {
		return nil, errors.New("new kms client: no region")
	}
	if endpoint == "" {
		endpoint = "kms." + region + ".aliyuncs.com"
	}
	c, err := org.NewClient(cred, endpoint, org.ClientOptions{Region: region, ThrottleCodes: []string{"Rejected.Throttling"}, MaxBody: MaxAnswer})
	if err != nil {
		return nil, fmt.Errorf("new kms client: %w", err)
	}
	return &KMS{client: c}, nil
}

// Secret returns the current value (ACSCurrent) of the secret name. A
// missing secret wraps ErrNotFound; an API error is an *org.APIError
// wrapped with the secret's name.
func (k *KMS) Secret(ctx context.Context, name string) (string, error) {
	what := "get secret " + name
	if name == "" {
		return "", errors.New("get secret: no name")
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	c, err := kms.NewClient(k.client.ForContext(ctx))
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	res, err := c.GetSecretValueWithOptions(&kms.GetSecretValueRequest{SecretName: tea.String(name)}, &util.RuntimeOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: %w", what, ctx.Err())
		}
		err = org.AsAPIError(err)
		var ae *org.APIError
		if errors.As(err, &ae) && ae.Code == CodeNotFound {
			return "", fmt.Errorf("%s: %w (%v)", what, ErrNotFound, err)
		}
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if res == nil || res.Body == nil || res.Body.SecretData == nil {
		return "", fmt.Errorf("%s: the answer holds no SecretData", what)
	}
	if t := tea.StringValue(res.Body.SecretDataType); t != "" && t != "text" {
		return "", fmt.Errorf("%s: SecretDataType %s, want text", what, t)
	}
	return *res.Body.SecretData, nil
}
