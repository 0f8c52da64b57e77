package org

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"
)

// Account is a member account of the resource directory.
type Account struct {
	ID          string
	DisplayName string
	Status      string // e.g. "CreateSuccess"
	Type        string // "CloudAccount" or "ResourceAccount"
}

// ListAccountsPageSize is the page size ListAccounts asks for, the API's
// maximum.
const ListAccountsPageSize = 100

// maxAccountPages bounds a listing (20,000 accounts), so that a TotalCount
// that never comes true cannot keep a run paging.
const maxAccountPages = 200

// ErrIncompleteListing is wrapped by ListAccounts when the pages do not add
// up to the TotalCount they declare: a partial organisation is not
// reported as a whole one.
var ErrIncompleteListing = errors.New("incomplete account listing")

type listAccountsPage struct {
	RequestID  string `json:"RequestId"`
	TotalCount *int   `json:"TotalCount"`
	Accounts   struct {
		Account []struct {
			AccountID   string `json:"AccountId"`
			DisplayName string `json:"DisplayName"`
			Status      string `json:"Status"`
			Type        string `json:"Type"`
		} `json:"Account"`
	} `json:"Accounts"`
}

// ListAccounts lists every member account of the caller's resource
// directory (Resource Manager ListAccounts, version 2020-03-31), page by
// page until TotalCount accounts are read. A page without TotalCount, a page
// that adds no new account before the total is reached, or more pages than
// a listing can take is an error wrapping ErrIncompleteListing.
func ListAccounts(ctx context.Context, c Caller) ([]Account, error) {
	params := &openapiutil.Params{
		Action: tea.String("ListAccounts"), Version: tea.String("2020-03-31"),
		Protocol: tea.String("HTTPS"), Pathname: tea.String("/"), Method: tea.String("POST"),
		AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("json"), BodyType: tea.String("json"),
	}
	var (
		accounts []Account
		seen     = map[string]bool{}
	)
	for page := 1; ; page++ {
		if page > maxAccountPages {
			return nil, fmt.Errorf("list accounts: %w: more than %d pages", ErrIncompleteListing, maxAccountPages)
		}
		req := &openapiutil.OpenApiRequest{Query: map[string]*string{
			"PageNumber": tea.String(strconv.Itoa(page)),
			"PageSize":   tea.String(strconv.Itoa(ListAccountsPageSize)),
		}}
		res, err := c.CallAPI(ctx, params, req)
		if err != nil {
			return nil, fmt.Errorf("list accounts page %d: %w", page, err)
		}
		var body listAccountsPage
		if err := decodeBody(res, &body); err != nil {
			return nil, fmt.Errorf("list accounts page %d: %w", page, err)
		}
		if body.TotalCount == nil {
			return nil, fmt.Errorf("list accounts page %d (request id %s): %w: no TotalCount", page, body.RequestID, ErrIncompleteListing)
		}
		total := *body.TotalCount
		if total > maxAccountPages*ListAccountsPageSize {
			return nil, fmt.Errorf("list accounts page %d (request id %s): %w: TotalCount %d is more than %d pages hold",
				page, body.RequestID, ErrIncompleteListing, total, maxAccountPages)
		}
		added := 0
		for _, a := range body.Accounts.Account {
			if a.AccountID == "" {
				return nil, fmt.Errorf("list accounts page %d (request id %s): an account has no AccountId", page, body.RequestID)
			}
			if seen[a.AccountID] {
				continue
			}
			seen[a.AccountID] = true
			added++
			accounts = append(accounts, Account{ID: a.AccountID, DisplayName: a.DisplayName, Status: a.Status, Type: a.Type})
		}
		if len(accounts) >= total {
			return accounts, nil
		}
		if added == 0 {
			return nil, fmt.Errorf("list accounts page %d (request id %s): %w: the page adds no account, but only %d of %d were read",
				page, body.RequestID, ErrIncompleteListing, len(accounts), total)
		}
	}
}

// decodeBody decodes the "body" of a CallApi result with BodyType "json".
func decodeBody(res map[string]any, v any) error {
	body, ok := res["body"]
	if !ok || body == nil {
		return errors.New("the response has no body")
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("re-encode response body: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode response body: %w", err)
	}
	return nil
}
