package main

import (
	"context"
	"log/slog"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker/change"
)

// handleChange serves an ActionTrail CloudEvent: an API call that may have
// changed an IPsec-VPN connection.
func (h *fcHandler) handleChange(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, body []byte) (*fcResult, error) {
	ev, err := change.Parse(body)
	if err != nil { // nothing is posted for a malformed event
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	if !ev.Relevant {
		log.Debug("event ignored: not a change to an IPsec-VPN connection", "event", ev.Name, "id", ev.ID)
		return &fcResult{SchemaVersion: 1, RunKey: ev.DedupeKey()}, nil
	}
	log.Error("change events are not handled yet", "event", ev.Name, "connection_id", ev.ConnectionID)
	return nil, errChangeNotWired
}

// errChangeNotWired is temporary: the change-event path is being built.
var errChangeNotWired = errorString("change events are not handled yet")

type errorString string

func (e errorString) Error() string { return string(e) }
