// Package acsfake verifies Alibaba Cloud OpenAPI requests as the real API
// gateway does, so that every local fake of an OpenAPI (VPC, Resource
// Manager, STS, FC) checks the official SDKs' real signatures the same way:
// ACS3-HMAC-SHA256 (signature version 3, the darabonba SDKs, RPC and ROA)
// with Verify, and the RPC signature version 1.0 (HMAC-SHA1, which
// credentials-go still uses for STS AssumeRole) with VerifyRPC.
package acsfake

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Credential is one access key the verifier accepts. With a SecurityToken,
// every request signed with the key must carry it (STS); without, none may.
type Credential struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	// Label is returned by Verify for requests signed with this key: for
	// example the account the key belongs to. Opaque to the verifier.
	Label string
}

// Error is an OpenAPI error answer.
type Error struct {
	Status  int    // HTTP status
	Code    string // the API's error code, e.g. "SignatureDoesNotMatch"
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MaxSkew is how far x-acs-date may be from the server's clock.
const MaxSkew = 15 * time.Minute

// Messages the real gateway sends with its authentication error codes.
const (
	MsgInvalidAccessKeyID    = "Specified access key is not found."
	MsgSignatureDoesNotMatch = "Specified signature does not match our calculation."
)

// Verifier checks requests against a set of credentials. Its methods are
// safe for concurrent use. The zero value accepts no credential.
type Verifier struct {
	mu     sync.Mutex
	creds  map[string]Credential // by AccessKeyID
	nonces map[string]bool
}

// NewVerifier returns a verifier that accepts creds.
func NewVerifier(creds ...Credential) *Verifier {
	v := &Verifier{}
	for _, c := range creds {
		v.Add(c)
	}
	return v
}

// Add accepts c from now on, replacing any credential with its AccessKeyID.
func (v *Verifier) Add(c Credential) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.creds == nil {
		v.creds = map[string]Credential{}
	}
	v.creds[c.AccessKeyID] = c
}

// Remove stops accepting the access key id (a revoked or expired key).
func (v *Verifier) Remove(accessKeyID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.creds, accessKeyID)
}

// Verify checks r, whose body has been read into body, as the real gateway
// does: algorithm, access key, security token, date skew, payload hash,
// signed headers, signature and nonce reuse. It returns the Label of the
// credential that signed the request, or the error the real API answers.
// Messages never contain a secret or token.
func (v *Verifier) Verify(r *http.Request, body []byte) (string, *Error) {
	auth := r.Header.Get("Authorization")
	algo, rest, _ := strings.Cut(auth, " ")
	if algo != "ACS3-HMAC-SHA256" {
		return "", &Error{http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards (want ACS3-HMAC-SHA256)."}
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		fields[k] = val
	}
	ak, signed, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if ak == "" || signed == "" || sig == "" {
		return "", &Error{http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards."}
	}
	v.mu.Lock()
	cred, ok := v.creds[ak]
	v.mu.Unlock()
	if !ok {
		return "", &Error{http.StatusNotFound, "InvalidAccessKeyId.NotFound", MsgInvalidAccessKeyID}
	}
	token := r.Header.Get("x-acs-security-token")
	switch {
	case cred.SecurityToken != "" && token == "":
		return "", &Error{http.StatusBadRequest, "MissingSecurityToken", "SecurityToken is mandatory for this action."}
	case cred.SecurityToken == "" && token != "":
		return "", &Error{http.StatusBadRequest, "InvalidSecurityToken.Malformed", "The security token you provided is malformed."}
	case token != cred.SecurityToken:
		return "", &Error{http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "The security token you provided does not match the access key."}
	}
	date, err := time.Parse("2006-01-02T15:04:05Z", r.Header.Get("x-acs-date"))
	if err != nil {
		return "", &Error{http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	if d := time.Since(date); d > MaxSkew || d < -MaxSkew {
		return "", &Error{http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if r.Header.Get("x-acs-content-sha256") != payload {
		return "", &Error{http.StatusBadRequest, "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the request body."}
	}

	signedList := strings.Split(signed, ";")
	if !sort.StringsAreSorted(signedList) || !slices.Contains(signedList, "host") {
		return "", &Error{http.StatusBadRequest, "IncompleteSignature", "SignedHeaders must be sorted and include host."}
	}
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-acs-") && !slices.Contains(signedList, l) {
			return "", &Error{http.StatusBadRequest, "IncompleteSignature", "Header " + l + " must be signed."}
		}
	}
	toSign := StringToSign(r, signedList, payload)
	mac := hmac.New(sha256.New, []byte(cred.AccessKeySecret))
	mac.Write([]byte(toSign))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return "", &Error{http.StatusBadRequest, "SignatureDoesNotMatch", MsgSignatureDoesNotMatch + " The string to sign is: " + strings.ReplaceAll(toSign, "\n", " ")}
	}

	if !v.useNonce(r.Header.Get("x-acs-signature-nonce")) {
		return "", &Error{http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return cred.Label, nil
}

// StringToSign builds the ACS3-HMAC-SHA256 string to sign of r: the
// algorithm and the hex SHA-256 of the canonical request made of the method,
// the escaped path, the canonical query, the signed headers and the payload
// hash. It holds no secret.
func StringToSign(r *http.Request, signedHeaders []string, payloadHash string) string {
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path + "\n")
	canon.WriteString(CanonicalQuery(r.URL.RawQuery) + "\n")
	for _, h := range signedHeaders {
		var vals []string
		if h == "host" {
			vals = []string{r.Host}
		} else {
			for _, val := range r.Header.Values(h) {
				vals = append(vals, strings.TrimSpace(val))
			}
		}
		sort.Strings(vals)
		canon.WriteString(h + ":" + strings.Join(vals, ",") + "\n")
	}
	canon.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n" + payloadHash)
	hashed := sha256.Sum256([]byte(canon.String()))
	return "ACS3-HMAC-SHA256\n" + hex.EncodeToString(hashed[:])
}

// CanonicalQuery sorts the parameters and percent-encodes names and values
// per RFC 3986, as Alibaba Cloud's signature version 3 specifies.
func CanonicalQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := slices.Clone(q[k])
		sort.Strings(vals)
		for _, val := range vals {
			parts = append(parts, PercentEncode(k)+"="+PercentEncode(val))
		}
	}
	return strings.Join(parts, "&")
}

// PercentEncode encodes s per RFC 3986 as signature version 3 wants it:
// space as %20, '*' as %2A, '~' kept.
func PercentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// WriteError answers e as the real OpenAPI does: its HTTP status, the
// request id in x-acs-request-id, and the JSON body
// {"RequestId","HostId","Code","Message","Recommend"}.
func WriteError(w http.ResponseWriter, r *http.Request, requestID string, e *Error) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", requestID)
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]any{
		"RequestId": requestID, "HostId": r.Host, "Code": e.Code, "Message": e.Message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.Code,
	})
}

// Outcome is the HTTP status and error code of an answer, as a fake
// records each call it served.
func Outcome(e *Error) (status int, code string) {
	if e == nil {
		return http.StatusOK, ""
	}
	return e.Status, e.Code
}

// Respond answers an OpenAPI call as the real gateway does: e as
// WriteError writes it, else ans (a JSON object) with its RequestId in the
// body and in x-acs-request-id. Every fake of an OpenAPI answers through
// it.
func Respond(w http.ResponseWriter, r *http.Request, requestID string, ans map[string]any, e *Error) {
	if e != nil {
		WriteError(w, r, requestID, e)
		return
	}
	if ans == nil {
		ans = map[string]any{}
	}
	ans["RequestId"] = requestID
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", requestID)
	json.NewEncoder(w).Encode(ans)
}

// VerifyRPC checks a request signed with the RPC signature version 1.0
// (HMAC-SHA1 over the sorted query and form parameters), as credentials-go
// signs STS AssumeRole. params holds every query and form parameter of r.
// It returns the Label of the signing credential, or the error the real API
// answers. As the real API does, a signature mismatch answers the server's
// string to sign, which holds the caller's SecurityToken parameter: a client
// must not pass that message on unredacted.
func (v *Verifier) VerifyRPC(r *http.Request, params url.Values) (string, *Error) {
	sig := params.Get("Signature")
	ak := params.Get("AccessKeyId")
	if sig == "" || ak == "" {
		return "", &Error{http.StatusBadRequest, "MissingParameter", "The input parameter Signature or AccessKeyId that is mandatory for processing this request is not supplied."}
	}
	if m := params.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return "", &Error{http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not valid."}
	}
	if params.Get("SignatureVersion") != "1.0" {
		return "", &Error{http.StatusBadRequest, "InvalidSignatureVersion", "Specified signature version is not valid."}
	}
	v.mu.Lock()
	cred, ok := v.creds[ak]
	v.mu.Unlock()
	if !ok {
		return "", &Error{http.StatusNotFound, "InvalidAccessKeyId.NotFound", MsgInvalidAccessKeyID}
	}
	token := params.Get("SecurityToken")
	switch {
	case cred.SecurityToken != "" && token == "":
		return "", &Error{http.StatusBadRequest, "MissingSecurityToken", "SecurityToken is mandatory for this action."}
	case cred.SecurityToken == "" && token != "":
		return "", &Error{http.StatusBadRequest, "InvalidSecurityToken.Malformed", "The security token you provided is malformed."}
	case token != cred.SecurityToken:
		return "", &Error{http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "The security token you provided does not match the access key."}
	}
	date, err := time.Parse("2006-01-02T15:04:05Z", params.Get("Timestamp"))
	if err != nil {
		return "", &Error{http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	if d := time.Since(date); d > MaxSkew || d < -MaxSkew {
		return "", &Error{http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}

	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, val := range params[k] {
			parts = append(parts, PercentEncode(k)+"="+PercentEncode(val))
		}
	}
	toSign := r.Method + "&" + PercentEncode("/") + "&" + PercentEncode(strings.Join(parts, "&"))
	mac := hmac.New(sha1.New, []byte(cred.AccessKeySecret+"&"))
	mac.Write([]byte(toSign))
	if !hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(sig)) {
		return "", &Error{http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:" + toSign}
	}
	if !v.useNonce(params.Get("SignatureNonce")) {
		return "", &Error{http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return cred.Label, nil
}

// useNonce records nonce and reports whether it was new (and not empty).
func (v *Verifier) useNonce(nonce string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if nonce == "" || v.nonces[nonce] {
		return false
	}
	if v.nonces == nil {
		v.nonces = map[string]bool{}
	}
	v.nonces[nonce] = true
	return true
}
