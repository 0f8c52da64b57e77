package configrule_test

import (
	"testing"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/alibaba"
)

func staticCred(t *testing.T, c acsfake.Credential) credentials.Credential {
	t.Helper()
	cred, err := alibaba.StaticCredential(c.AccessKeyID, c.AccessKeySecret, c.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}
