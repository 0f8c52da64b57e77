// Package orgfake holds local fakes, on 127.0.0.1, of the Alibaba Cloud
// APIs behind an organisation-wide run, for tests in any package: Resource
// Manager ListAccounts (StartResourceManager), STS AssumeRole (StartSTS)
// and FC 3.0 InvokeFunction (StartFC). Each verifies the official clients'
// real signatures with acsfake and answers in the real wire format.
//
// The temporary credentials the STS fake issues can be handed to a
// vpcfake.Server as the assumed account's (STS.WireVPC), so that a test
// proves the fake VPC API accepts, per account, only that account's
// temporary credentials.
package orgfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// Account is a member account of the fake resource directory.
type Account struct {
	ID          string
	DisplayName string
	Status      string // default "CreateSuccess"
	Type        string // default "ResourceAccount"
	FolderID    string // default "fd-root"
	JoinMethod  string // default "created"
}

// Fault is an error answer injected into the Resource Manager fake
// (acsfake's; Page is the ListAccounts page it hits).
type Fault = acsfake.Fault

// requestIDs numbers requests like the real API's ids.
type requestIDs struct {
	mu  sync.Mutex
	seq int
}

func (r *requestIDs) next(kind byte) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return fmt.Sprintf("%c%07X-0000-4000-8000-%012d", kind, r.seq, r.seq)
}

// readBody reads a request body of at most limit bytes; more is an error.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body over %d bytes", limit)
	}
	return b, nil
}

// params merges the query and an urlencoded form body.
func params(r *http.Request, body []byte) url.Values {
	p, _ := url.ParseQuery(r.URL.RawQuery)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range form {
				p[k] = append(p[k], v...)
			}
		}
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// randomString is n random characters of alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
