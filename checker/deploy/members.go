package deploy

import (
	"context"
	"fmt"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/org"
)

// Directory reaches the member accounts as a platform team does by hand:
// listed by Resource Manager, entered with the resource directory's access
// role through STS AssumeRole (credentials-go).
type Directory struct {
	Base        credentials.Credential // the management account's identity
	AccessRole  string                 // default DefaultAccessRole
	RMEndpoint  string                 // "" the public endpoint
	STSEndpoint string                 // host[:port], HTTPS; "" the public endpoint
	RAMEndpoint string                 // "" the public endpoint (RAM is global)
}

// RAMEndpoint is RAM's endpoint; the API is global.
const RAMEndpoint = "ram.aliyuncs.com"

// List lists the member accounts.
func (d Directory) List(ctx context.Context) ([]org.Account, error) {
	ep := d.RMEndpoint
	if ep == "" {
		ep = org.ResourceManagerEndpoint
	}
	c, err := org.NewClient(d.Base, ep, org.ClientOptions{})
	if err != nil {
		return nil, err
	}
	return org.ListAccounts(ctx, c)
}

// Enter assumes the access role in account and returns a RAM caller
// signed with its temporary credentials.
func (d Directory) Enter(ctx context.Context, account string) (org.Caller, error) {
	role := d.AccessRole
	if role == "" {
		role = DefaultAccessRole
	}
	cred, err := org.AssumeRole(d.Base, org.RoleOptions{AccountID: account, RoleName: role, SessionName: "vpncheck-setup", STSEndpoint: d.STSEndpoint})
	if err != nil {
		return nil, permission("sts:AssumeRole on "+RoleARN(account, role), err)
	}
	ep := d.RAMEndpoint
	if ep == "" {
		ep = RAMEndpoint
	}
	c, err := org.NewClient(cred, ep, org.ClientOptions{})
	if err != nil {
		return nil, fmt.Errorf("ram client for account %s: %w", account, err)
	}
	return c, nil
}
