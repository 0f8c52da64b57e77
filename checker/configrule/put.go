package configrule

import (
	"context"
	"encoding/json"
	"fmt"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"
)

// Caller calls one OpenAPI operation; org.Client (darabonba-openapi's
// CallApi, signed as the generated SDKs sign) is one.
type Caller interface {
	CallAPI(ctx context.Context, params *openapiutil.Params, req *openapiutil.OpenApiRequest) (map[string]any, error)
}

// Version is the Config API version of PutEvaluations.
const Version = "2020-09-07"

// MaxBatch is how many evaluations one PutEvaluations call carries. Cloud
// Config documents no bound; AWS Config's is 100, and so is this.
const MaxBatch = 100

// Endpoint is Cloud Config's endpoint for a function in region: Config is
// served from Shanghai for the Chinese mainland and from Singapore
// elsewhere.
func Endpoint(region string) string {
	if len(region) > 3 && region[:3] == "cn-" && region != "cn-hongkong" {
		return "config.cn-shanghai.aliyuncs.com"
	}
	return "config.ap-southeast-1.aliyuncs.com"
}

// Put delivers evs with PutEvaluations, MaxBatch at a time, under the
// event's result token. With deleteMode (a periodic run that read every
// connection), the last call asks Config to drop the evaluations this run
// did not renew: the connections that no longer exist. An empty list is
// still delivered once, so that Config knows the run ended.
func Put(ctx context.Context, c Caller, token string, evs []Evaluation, deleteMode bool) error {
	params := &openapiutil.Params{
		Action: tea.String("PutEvaluations"), Version: tea.String(Version), Protocol: tea.String("HTTPS"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	for start := 0; start == 0 || start < len(evs); start += MaxBatch {
		batch := evs[start:min(start+MaxBatch, len(evs))]
		b, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		last := start+MaxBatch >= len(evs)
		body := map[string]any{"ResultToken": token, "Evaluations": string(b)}
		if deleteMode && last {
			body["DeleteMode"] = true
		}
		res, err := c.CallAPI(ctx, params, &openapiutil.OpenApiRequest{Body: body})
		if err != nil {
			return fmt.Errorf("put evaluations %d to %d of %d: %w", start+1, start+len(batch), len(evs), err)
		}
		if ok, isBool := bodyResult(res); isBool && !ok {
			return fmt.Errorf("put evaluations %d to %d of %d: Config answered Result false", start+1, start+len(batch), len(evs))
		}
	}
	return nil
}

// bodyResult reads the answer's Result (a bool), when it has one.
func bodyResult(res map[string]any) (ok, isBool bool) {
	body, _ := res["body"].(map[string]any)
	if body == nil {
		return false, false
	}
	ok, isBool = body["Result"].(bool)
	return ok, isBool
}
