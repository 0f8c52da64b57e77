package vpcfake_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"

	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

const (
	akID   = "LTAI5tFakeAccessKey"
	secret = "canary-secret-5f3a9c"
	token  = "canary-sts-token-77d1"
)

func sdk(t *testing.T, s *vpcfake.Server, id, sec, tok string) *vpc.Client {
	t.Helper()
	conf := &openapiutil.Config{
		AccessKeyId: tea.String(id), AccessKeySecret: tea.String(sec),
		Endpoint: tea.String(s.Host()), Protocol: tea.String("HTTP"),
		RegionId: tea.String("cn-hangzhou"), ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(5000),
	}
	if tok != "" {
		conf.SecurityToken = tea.String(tok)
	}
	c, err := vpc.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func page(c *vpc.Client, region string, n, size int32) (*vpc.DescribeVpnConnectionsResponse, error) {
	return c.DescribeVpnConnectionsWithOptions(&vpc.DescribeVpnConnectionsRequest{
		RegionId: tea.String(region), PageNumber: tea.Int32(n), PageSize: tea.Int32(size),
	}, &dara.RuntimeOptions{})
}

func sdkCode(t *testing.T, err error) (string, int) {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v, want *tea.SDKError", err, err)
	}
	return tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
}

// TestRealSDK proves the fake against the official SDK: what it signs passes,
// what it signs with another secret or token does not.
func TestRealSDK(t *testing.T) {
	for _, tc := range []struct {
		name       string
		server     vpcfake.Credentials
		id, sec    string
		tok        string
		wantCode   string
		wantStatus int
	}{
		{name: "access key", server: vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret}, id: akID, sec: secret},
		{name: "sts", server: vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret, SecurityToken: token}, id: akID, sec: secret, tok: token},
		{name: "wrong secret", server: vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret}, id: akID, sec: "not-the-secret", wantCode: "SignatureDoesNotMatch", wantStatus: 400},
		{name: "unknown key", server: vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret}, id: "LTAIother", sec: secret, wantCode: "InvalidAccessKeyId.NotFound", wantStatus: 404},
		{name: "wrong token", server: vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret, SecurityToken: token}, id: akID, sec: secret, tok: "other", wantCode: "InvalidSecurityToken.MismatchWithAccessKey", wantStatus: 400},
		{name: "missing token", server: vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret, SecurityToken: token}, id: akID, sec: secret, wantCode: "MissingSecurityToken", wantStatus: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := vpcfake.Start(tc.server)
			defer s.Close()
			s.Generate("cn-hangzhou", 3, vpcfake.Connection)
			resp, err := page(sdk(t, s, tc.id, tc.sec, tc.tok), "cn-hangzhou", 1, 50)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if got := len(resp.Body.VpnConnections.VpnConnection); got != 3 || tea.Int32Value(resp.Body.TotalCount) != 3 {
					t.Fatalf("got %d connections of %d, want 3 of 3", got, tea.Int32Value(resp.Body.TotalCount))
				}
				return
			}
			code, status := sdkCode(t, err)
			if code != tc.wantCode || status != tc.wantStatus {
				t.Fatalf("got %s (HTTP %d), want %s (HTTP %d)", code, status, tc.wantCode, tc.wantStatus)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) {
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestPagingAndFaults(t *testing.T) {
	creds := vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret}
	s := vpcfake.Start(creds)
	defer s.Close()
	s.Generate("cn-hangzhou", 123, vpcfake.Connection)
	s.AddConnections("cn-shanghai", `{"VpnConnectionId":"vco-raw","Name":"raw"}`)
	c := sdk(t, s, akID, secret, "")

	t.Run("pages", func(t *testing.T) {
		var ids []string
		for n := int32(1); n <= 3; n++ {
			resp, err := page(c, "cn-hangzhou", n, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range resp.Body.VpnConnections.VpnConnection {
				ids = append(ids, tea.StringValue(v.VpnConnectionId))
			}
		}
		if len(ids) != 123 || ids[0] != "vco-cn-hangzhou-00000" || ids[122] != "vco-cn-hangzhou-00122" {
			t.Fatalf("got %d ids (%v...)", len(ids), ids[:2])
		}
	})
	t.Run("page size over 50", func(t *testing.T) {
		_, err := page(c, "cn-hangzhou", 1, 51)
		if code, status := sdkCode(t, err); code != "InvalidParameter" || status != 400 {
			t.Fatalf("got %s %d", code, status)
		}
	})
	t.Run("throttled twice", func(t *testing.T) {
		s.Inject("cn-shanghai", vpcfake.Throttled(2))
		for i := range 2 {
			_, err := page(c, "cn-shanghai", 1, 50)
			if code, _ := sdkCode(t, err); code != "Throttling.User" {
				t.Fatalf("call %d: got %s", i, code)
			}
		}
		resp, err := page(c, "cn-shanghai", 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(resp.Body.VpnConnections.VpnConnection)
		if !strings.Contains(string(b), "vco-raw") {
			t.Fatalf("raw connection not served: %s", b)
		}
		if n := s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-shanghai"); n != 3 {
			t.Fatalf("calls = %d, want 3", n)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		s.Inject("cn-beijing", vpcfake.Forbidden())
		_, err := page(c, "cn-beijing", 1, 50)
		if code, status := sdkCode(t, err); code != "Forbidden.RAM" || status != 403 {
			t.Fatalf("got %s %d", code, status)
		}
	})
	t.Run("describe regions", func(t *testing.T) {
		resp, err := c.DescribeRegionsWithOptions(&vpc.DescribeRegionsRequest{}, &dara.RuntimeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range resp.Body.Regions.Region {
			ids = append(ids, tea.StringValue(r.RegionId))
		}
		if strings.Join(ids, ",") != "cn-hangzhou,cn-shanghai" {
			t.Fatalf("regions = %v", ids)
		}
	})
}

// Each hostile mode answers as it says, to a request the real SDK signed.
func TestModes(t *testing.T) {
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret})
	defer s.Close()
	c := sdk(t, s, akID, secret, "")
	type answer struct {
		total, number int64 // -1: absent
		first         string
		n             int
	}
	get := func(region string, n int32) (answer, error) {
		resp, err := page(c, region, n, 50)
		if err != nil {
			return answer{}, err
		}
		b := resp.Body
		a := answer{total: -1, number: -1, n: len(b.VpnConnections.VpnConnection)}
		if b.TotalCount != nil {
			a.total = int64(*b.TotalCount)
		}
		if b.PageNumber != nil {
			a.number = int64(*b.PageNumber)
		}
		if a.n > 0 {
			a.first = tea.StringValue(b.VpnConnections.VpnConnection[0].VpnConnectionId)
		}
		return a, nil
	}
	for _, tc := range []struct {
		mode vpcfake.Mode
		page int32
		want answer
	}{
		{vpcfake.PagesForever, 7, answer{1_000_000_000, 1, "vco-r-00000", 50}},
		{vpcfake.IgnorePageNumber, 2, answer{120, 1, "vco-r-00000", 50}},
		{vpcfake.OverlappingPages, 2, answer{120, 2, "vco-r-00025", 50}},
		{vpcfake.NoTotalCount, 3, answer{-1, 3, "vco-r-00100", 20}},
	} {
		region := fmt.Sprintf("r%d", tc.mode)
		s.Generate(region, 120, func(_ string, i int) any { return vpcfake.Connection("r", i) })
		s.SetMode(region, tc.mode)
		got, err := get(region, tc.page)
		if err != nil || got != tc.want {
			t.Errorf("mode %d page %d: %+v, %v; want %+v", tc.mode, tc.page, got, err, tc.want)
		}
	}
	// The raw-body modes are what the SDK's typed decoding cannot take.
	for _, mode := range []vpcfake.Mode{vpcfake.HTML200, vpcfake.TruncatedBody, vpcfake.OddFieldType} {
		region := fmt.Sprintf("r%d", mode)
		s.Generate(region, 3, vpcfake.Connection)
		s.SetMode(region, mode)
		if _, err := get(region, 1); err == nil {
			t.Errorf("mode %d: the typed SDK read it", mode)
		}
	}
}
