package org

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"
)

// Function is an FC 3.0 function of the Caller's account and region.
type Function struct {
	Name      string
	Qualifier string // version or alias; "" for LATEST
}

// MaxAsyncPayload is the largest payload FC accepts for an asynchronous
// invocation (128 KB).
const MaxAsyncPayload = 128 << 10

// ErrAlreadyStarted is wrapped by InvokeAsync when FC refuses the task id
// as already used (HTTP 409): that account's run was started before, by
// this coordinator or an earlier attempt of it. Callers treat it as success.
var ErrAlreadyStarted = errors.New("async task already started")

var (
	functionNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)
	qualifierRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	taskIDRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)
)

// InvokeAsync starts fn asynchronously with payload as its event (FC 3.0
// InvokeFunction, version 2023-03-30), under the async task id taskID,
// which FC accepts once: a repeat wraps ErrAlreadyStarted. A payload over
// MaxAsyncPayload is refused before anything is sent.
func InvokeAsync(ctx context.Context, c Caller, fn Function, payload []byte, taskID string) error {
	what := fmt.Sprintf("invoke %s async task %s", fn.Name, taskID)
	switch {
	case !functionNameRe.MatchString(fn.Name):
		return fmt.Errorf("%s: invalid function name", what)
	case fn.Qualifier != "" && !qualifierRe.MatchString(fn.Qualifier):
		return fmt.Errorf("%s: invalid qualifier %q", what, fn.Qualifier)
	case !taskIDRe.MatchString(taskID):
		return fmt.Errorf("%s: invalid task id: want a letter or '_' first, then letters, digits, '_' or '-', at most 128", what)
	case len(payload) > MaxAsyncPayload:
		return fmt.Errorf("%s: payload of %d bytes is over FC's asynchronous limit of %d", what, len(payload), MaxAsyncPayload)
	}
	params := &openapiutil.Params{
		Action: tea.String("InvokeFunction"), Version: tea.String("2023-03-30"),
		Protocol: tea.String("HTTPS"), Pathname: tea.String("/2023-03-30/functions/" + fn.Name + "/invocations"),
		Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("ROA"),
		// "byte" sends Body as it is and re-sends it whole on a retry; the
		// generated SDK's Stream would be drained by the first attempt.
		ReqBodyType: tea.String("byte"), BodyType: tea.String("binary"),
	}
	req := &openapiutil.OpenApiRequest{
		Headers: map[string]*string{
			"x-fc-invocation-type": tea.String("Async"),
			"x-fc-async-task-id":   tea.String(taskID),
			"content-type":         tea.String("application/octet-stream"),
		},
		Query: map[string]*string{},
		Body:  payload,
	}
	if fn.Qualifier != "" {
		req.Query["qualifier"] = tea.String(fn.Qualifier)
	}
	res, err := c.CallAPI(ctx, params, req)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			return fmt.Errorf("%s: %w (%w)", what, ErrAlreadyStarted, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	// BodyType "binary" hands the body over unread: drain and close it so
	// the connection is reused.
	if rc, ok := res["body"].(io.ReadCloser); ok {
		_, _ = io.Copy(io.Discard, io.LimitReader(rc, 1<<16))
		rc.Close()
	}
	if status, ok := res["statusCode"].(int); ok && (status < 200 || status > 299) {
		return fmt.Errorf("%s: unexpected HTTP %d", what, status)
	}
	return nil
}

// TaskID is the async task id of accountID's part of the run runKey: the
// same inputs give the same id, so that a retried coordinator cannot start
// an account twice, and different inputs give different ids. It is a valid
// FC task id: "vpncheck-", a readable part of runKey and accountID, and 20
// hex digits of a SHA-256 of both, at most 128 characters.
func TaskID(runKey, accountID string) string {
	sum := sha256.Sum256([]byte(runKey + "\x00" + accountID))
	readable := sanitize(runKey) + "-" + sanitize(accountID)
	const room = 128 - len("vpncheck-") - 1 - 20
	if len(readable) > room {
		readable = readable[:room]
	}
	return "vpncheck-" + readable + "-" + hex.EncodeToString(sum[:10])
}

// sanitize keeps letters, digits, '_' and '-', and turns runs of anything
// else into one '-'.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return b.String()
}
