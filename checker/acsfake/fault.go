package acsfake

import (
	"net/http"
	"strings"
)

// Fault is an error answer a fake injects: the API's code, the page it
// hits (0: every page) and how many matching calls it answers (0: every
// one).
type Fault struct {
	Code    string // the API's error code, e.g. "Throttling.User"
	Message string // default: a message like the real API's for Code
	Status  int    // HTTP status; default: the real API's for Code (see StatusFor)
	Page    int    // the page it hits; 0: every page
	Times   int    // how many matching calls it answers; 0: every one
}

// Messages are the real APIs' messages for the codes the fakes inject.
var Messages = map[string]string{
	"Throttling.User":             "Request was denied due to user flow control.",
	"Throttling":                  "Request was denied due to request throttling.",
	"Forbidden.RAM":               "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
	"Forbidden":                   "User not authorized to operate on the specified resource.",
	"Forbbiden.SubUser":           "User not authorized to operate on the specified resource as your account is created by another user.",
	"NoPermission":                "You are not authorized to do this action. You should be authorized by RAM.",
	"ServiceUnavailable":          "The request has failed due to a temporary failure of the server.",
	"InternalError":               "The request processing has failed due to some unknown error.",
	"InvalidAccessKeyId.NotFound": "Specified access key is not found.",
	"SignatureDoesNotMatch":       "Specified signature does not match our calculation.",
}

// StatusFor is the HTTP status the real OpenAPI sends with code.
func StatusFor(code string) int {
	switch {
	case code == "InvalidAccessKeyId.NotFound", code == "InvalidAction.NotFound",
		strings.HasPrefix(code, "EntityNotExist"), strings.HasSuffix(code, ".NotFound"):
		return http.StatusNotFound
	case strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "Forbbiden"), code == "NoPermission":
		return http.StatusForbidden
	case code == "ServiceUnavailable":
		return http.StatusServiceUnavailable
	case code == "InternalError", code == "UnknownError":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest // Throttling*, SignatureDoesNotMatch, InvalidParameter, ...
}

// Answer is the fault as the API's error answer, its defaults filled in.
func (f *Fault) Answer() *Error {
	e := &Error{Status: f.Status, Code: f.Code, Message: f.Message}
	if e.Status == 0 {
		e.Status = StatusFor(f.Code)
	}
	if e.Message == "" {
		if e.Message = Messages[f.Code]; e.Message == "" {
			e.Message = "Injected error " + f.Code + "."
		}
	}
	return e
}

// TakeFault returns the first fault that still applies to page, using one
// of its Times. The caller holds its fake's lock.
func TakeFault(faults []*Fault, page int) *Fault {
	for _, f := range faults {
		if f.Times < 0 || (f.Page != 0 && f.Page != page) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				f.Times = -1 // used up
			}
		}
		return f
	}
	return nil
}
